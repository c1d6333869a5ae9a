//! Resource counters of running containers, read where the kernel keeps them: the container's
//! cgroup files (v1 `cpuacct`, `memory`, `blkio`, `pids`; v2 `cpu.stat`, `memory.current`,
//! `memory.stat`, `io.stat`, `pids.current`; Docker's `cgroupfs` and `systemd` driver paths) and
//! `/proc/<init pid>/net/dev` — no request to Docker per round. Where those files cannot be read
//! (SDMD in a container without the host's `/sys/fs/cgroup` or PID namespace, rootless Docker)
//! the Engine's one-shot stats stand in, a few containers at a time.
//!
//! A container's cgroup directories and init PID are found once (one inspect when it is first
//! seen) and kept until it stops.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sdmd_model::observe::{Counters, StatsSource};

use crate::docker::{Docker, DockerError};

/// Where a container's counters are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPaths {
    /// The init process (host PID), for `net/dev`; `None` when its `/proc` entry is not this
    /// container's (another PID namespace) or it runs in the host's network namespace.
    pub net_pid: Option<u32>,
    /// The layout.
    pub layout: Layout,
}

/// A cgroup layout with the container's directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v2: one directory.
    V2(PathBuf),
    /// cgroup v1: one directory per controller.
    V1 {
        /// `cpuacct` (often co-mounted with `cpu`).
        cpuacct: PathBuf,
        /// `memory`.
        memory: PathBuf,
        /// `blkio` (absent: no block figures).
        blkio: Option<PathBuf>,
        /// `pids` (absent: no process count).
        pids: Option<PathBuf>,
    },
}

/// The roots the reader looks under (the host's by default; tests point them elsewhere).
#[derive(Debug, Clone)]
pub struct Roots {
    /// The cgroup mount (`/sys/fs/cgroup`).
    pub cgroup: PathBuf,
    /// The proc mount (`/proc`).
    pub proc: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            proc: PathBuf::from("/proc"),
        }
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_u64(path: &Path) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// `key value` lines (memory.stat, cpu.stat).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// The cgroup path of `pid` for a v1 `controller`, or the v2 path (`controller` empty), from
/// `/proc/<pid>/cgroup`.
fn proc_cgroup_path(text: &str, controller: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        hit.then(|| path.to_owned())
    })
}

/// The candidates for a container's cgroup path inside a hierarchy: what `/proc/<pid>/cgroup`
/// says (when it names this container), then Docker's `cgroupfs` driver (`/docker/<id>`) and
/// its `systemd` driver (`/system.slice/docker-<id>.scope`).
fn candidates(from_proc: Option<String>, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = from_proc.filter(|p| p.contains(id)) {
        out.push(p);
    }
    out.push(format!("/docker/{id}"));
    out.push(format!("/system.slice/docker-{id}.scope"));
    out
}

fn join(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}

impl Roots {
    /// Finds a container's cgroup directories; `None` when none of the candidates is readable.
    pub fn locate(&self, id: &str, pid: Option<u32>, host_network: bool) -> Option<CgroupPaths> {
        let proc_text = pid.and_then(|p| read(&self.proc.join(p.to_string()).join("cgroup")));
        // The init PID's /proc entry is this container's only when its cgroup names the id.
        let own_proc = proc_text.as_deref().is_some_and(|t| t.contains(id));
        let net_pid = pid.filter(|_| own_proc && !host_network);
        let pick = |root: &Path, controller: &str, probe: &str| -> Option<PathBuf> {
            let from = proc_text
                .as_deref()
                .and_then(|t| proc_cgroup_path(t, controller));
            candidates(from, id)
                .into_iter()
                .map(|c| join(root, &c))
                .find(|d| d.join(probe).exists())
        };
        // cgroup v1 where its controllers are mounted (also on a hybrid host), else v2.
        let v1 = self.cgroup.join("cpuacct");
        if v1.is_dir() {
            let cpuacct = pick(&v1, "cpuacct", "cpuacct.usage")?;
            let memory = pick(
                &self.cgroup.join("memory"),
                "memory",
                "memory.usage_in_bytes",
            )?;
            let blkio = pick(
                &self.cgroup.join("blkio"),
                "blkio",
                "blkio.throttle.io_service_bytes",
            );
            let pids = pick(&self.cgroup.join("pids"), "pids", "pids.current");
            return Some(CgroupPaths {
                net_pid,
                layout: Layout::V1 {
                    cpuacct,
                    memory,
                    blkio,
                    pids,
                },
            });
        }
        let dir = pick(&self.cgroup, "", "cpu.stat")?;
        Some(CgroupPaths {
            net_pid,
            layout: Layout::V2(dir),
        })
    }

    /// The counters now; `None` when the files went away (the container stopped) or its init
    /// process did (it restarted: locate it again).
    pub fn read(&self, paths: &CgroupPaths) -> Option<Counters> {
        let mut c = match &paths.layout {
            Layout::V1 {
                cpuacct,
                memory,
                blkio,
                pids,
            } => {
                let stat = read(&memory.join("memory.stat")).unwrap_or_default();
                let limit = read_u64(&memory.join("memory.limit_in_bytes"));
                let (block_read, block_write) = blkio.as_ref().map_or((0, 0), |b| {
                    blkio_v1(
                        &read(&b.join("blkio.throttle.io_service_bytes_recursive"))
                            .or_else(|| read(&b.join("blkio.throttle.io_service_bytes")))
                            .unwrap_or_default(),
                    )
                });
                Counters {
                    cpu_ns: read_u64(&cpuacct.join("cpuacct.usage"))?,
                    memory_usage: read_u64(&memory.join("memory.usage_in_bytes"))?,
                    memory_inactive_file: keyed(&stat, "total_inactive_file").unwrap_or(0),
                    // v1 says "no limit" with a huge page-aligned number.
                    memory_limit: limit.filter(|l| *l < (1 << 62)),
                    net_rx: None,
                    net_tx: None,
                    block_read,
                    block_write,
                    pids: pids
                        .as_ref()
                        .and_then(|p| read_u64(&p.join("pids.current")))
                        .unwrap_or(0),
                    read_at_ns: None,
                }
            }
            Layout::V2(dir) => {
                let stat = read(&dir.join("memory.stat")).unwrap_or_default();
                let (block_read, block_write) =
                    io_v2(&read(&dir.join("io.stat")).unwrap_or_default());
                Counters {
                    cpu_ns: keyed(&read(&dir.join("cpu.stat"))?, "usage_usec")? * 1000,
                    memory_usage: read_u64(&dir.join("memory.current"))?,
                    memory_inactive_file: keyed(&stat, "inactive_file").unwrap_or(0),
                    memory_limit: read_u64(&dir.join("memory.max")),
                    net_rx: None,
                    net_tx: None,
                    block_read,
                    block_write,
                    pids: read_u64(&dir.join("pids.current")).unwrap_or(0),
                    read_at_ns: None,
                }
            }
        };
        if let Some(pid) = paths.net_pid {
            // The init process is gone (the container restarted under a new PID): find it
            // again.
            let text = read(&self.proc.join(pid.to_string()).join("net/dev"))?;
            let (rx, tx) = net_dev(&text);
            c.net_rx = Some(rx);
            c.net_tx = Some(tx);
        }
        Some(c)
    }

    /// The host's memory (`MemTotal`), bytes.
    pub fn host_memory(&self) -> u64 {
        read(&self.proc.join("meminfo"))
            .and_then(|t| {
                t.lines().find_map(|l| {
                    let rest = l.strip_prefix("MemTotal:")?;
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
            })
            .map_or(0, |kb| kb * 1024)
    }

    /// The host's CPUs (the `cpuN` lines of `/proc/stat`), at least 1.
    pub fn host_cpus(&self) -> u32 {
        read(&self.proc.join("stat"))
            .map(|t| {
                t.lines()
                    .filter(|l| {
                        l.strip_prefix("cpu")
                            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                    })
                    .count() as u32
            })
            .unwrap_or(0)
            .max(1)
    }

    /// The host's busy and total CPU time from `/proc/stat`'s first line, in clock ticks.
    pub fn host_cpu_ticks(&self) -> Option<(u64, u64)> {
        let text = read(&self.proc.join("stat"))?;
        let line = text.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: u64 = v.iter().take(8).sum();
        // idle + iowait are not busy.
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        Some((total - idle.min(total), total))
    }
}

/// Sums `Read` and `Write` over devices (v1 `blkio.throttle.io_service_bytes`).
fn blkio_v1(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let (Some(_dev), Some(op), Some(v)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match op {
            "Read" => r += v,
            "Write" => w += v,
            _ => {}
        }
    }
    (r, w)
}

/// Sums `rbytes` and `wbytes` over devices (v2 `io.stat`).
fn io_v2(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", v)) => r += v.parse::<u64>().unwrap_or(0),
                Some(("wbytes", v)) => w += v.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

/// Received and sent bytes over every interface but `lo` (`/proc/<pid>/net/dev`).
fn net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0, 0);
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        rx += v.first().copied().unwrap_or(0);
        tx += v.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

/// What the sampler needs of a container from one inspect.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The init process's PID (host namespace), 0 when not running.
    pub pid: u32,
    /// Whether it shares the host's network namespace.
    pub host_network: bool,
}

impl Docker {
    /// The init PID and network mode of a container (one inspect).
    pub async fn stats_identity(&self, id: &str) -> Result<Identity, DockerError> {
        let i = id.to_owned();
        let r = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        let pid = r.state.and_then(|s| s.pid).unwrap_or(0);
        let host_network = r
            .host_config
            .and_then(|h| h.network_mode)
            .is_some_and(|m| m == "host");
        Ok(Identity {
            pid: u32::try_from(pid).unwrap_or(0),
            host_network,
        })
    }

    /// What inspect says of how a container ended and of its last health probe.
    pub async fn probe_and_exit(&self, id: &str) -> Result<ProbeAndExit, DockerError> {
        let i = id.to_owned();
        let r = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        let state = r.state.unwrap_or_default();
        let probe_output = state
            .health
            .and_then(|h| h.log)
            .and_then(|log| log.into_iter().last())
            .map(|p| {
                let out = p.output.unwrap_or_default();
                let out = out.trim_end();
                match p.exit_code {
                    Some(code) if out.is_empty() => format!("(exit {code}, no output)"),
                    _ => out.to_owned(),
                }
            });
        Ok(ProbeAndExit {
            oom_killed: state.oom_killed.unwrap_or(false),
            exit_code: state.exit_code,
            probe_output,
        })
    }

    /// The Engine's one-shot stats of a container, as counters.
    pub async fn stats_once(&self, id: &str) -> Result<Counters, DockerError> {
        let c = self.client().await?;
        let opts = bollard::query_parameters::StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let s = c
            .stats(id, Some(opts))
            .next()
            .await
            .ok_or_else(|| DockerError::Unavailable("the stats answer was empty".into()))?
            .map_err(DockerError::from)?;
        let mem = s.memory_stats.unwrap_or_default();
        let stats = mem.stats.unwrap_or_default();
        let inactive = stats
            .get("total_inactive_file")
            .or_else(|| stats.get("inactive_file"))
            .copied()
            .unwrap_or(0);
        let (mut rx, mut tx, mut any_net) = (0, 0, false);
        for n in s.networks.unwrap_or_default().values() {
            any_net = true;
            rx += n.rx_bytes.unwrap_or(0);
            tx += n.tx_bytes.unwrap_or(0);
        }
        let (mut br, mut bw) = (0, 0);
        for e in s
            .blkio_stats
            .and_then(|b| b.io_service_bytes_recursive)
            .unwrap_or_default()
        {
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => br += e.value.unwrap_or(0),
                Some("write") => bw += e.value.unwrap_or(0),
                _ => {}
            }
        }
        Ok(Counters {
            cpu_ns: s
                .cpu_stats
                .and_then(|c| c.cpu_usage)
                .and_then(|u| u.total_usage)
                .unwrap_or(0),
            memory_usage: mem.usage.unwrap_or(0),
            memory_inactive_file: inactive,
            memory_limit: mem.limit.filter(|l| *l < (1 << 62)),
            net_rx: any_net.then_some(rx),
            net_tx: any_net.then_some(tx),
            block_read: br,
            block_write: bw,
            pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
            read_at_ns: s
                .read
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .and_then(|t| t.timestamp_nanos_opt()),
        })
    }
}

/// How a container ended and its last health probe (from inspect).
#[derive(Debug, Clone, Default)]
pub struct ProbeAndExit {
    /// Whether the OOM killer ended it.
    pub oom_killed: bool,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// The output of the last health probe, when it has a healthcheck.
    pub probe_output: Option<String>,
}

/// How many one-shot stats requests run at once in the fallback. dockerd answers a stats
/// request from its collector, which reads every subscribed container once per second, so even
/// a one-shot answer waits for the next tick (up to 1 s, measured here with Docker 20.10): a
/// round of N containers takes about N / this many seconds. More at once costs the daemon no
/// more per container (one collector pass serves all of them), so the bound is generous.
pub const ENGINE_CONCURRENCY: usize = 64;

/// Reads counters of running containers, from the cgroup files when it can and from the
/// Engine otherwise, remembering where each container's files are.
pub struct Reader {
    roots: Roots,
    docker: Docker,
    located: HashMap<String, Option<CgroupPaths>>,
    force_engine: bool,
}

impl Reader {
    /// A reader over `roots`; `force_engine` skips the cgroup files altogether.
    pub fn new(docker: Docker, roots: Roots, force_engine: bool) -> Self {
        Self {
            roots,
            docker,
            located: HashMap::new(),
            force_engine,
        }
    }

    /// The roots read.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Counters of each of `running` (ids) that could be read, and where most came from.
    pub async fn read(&mut self, running: &[String]) -> (Vec<(String, Counters)>, StatsSource) {
        self.located.retain(|id, _| running.contains(id));
        if !self.force_engine {
            for id in running {
                if self.located.contains_key(id) {
                    continue;
                }
                let found = match self.docker.stats_identity(id).await {
                    Ok(i) => self.roots.locate(id, Some(i.pid), i.host_network),
                    Err(e) => {
                        tracing::debug!(container = %id, error = %e, "inspect for stats failed");
                        continue;
                    }
                };
                self.located.insert(id.clone(), found);
            }
        }
        let mut out = Vec::with_capacity(running.len());
        let mut engine = Vec::new();
        for id in running {
            match self.located.get(id) {
                Some(Some(paths)) => match self.roots.read(paths) {
                    Some(c) => out.push((id.clone(), c)),
                    None => {
                        // Gone or restarted into a new cgroup: find it again next round.
                        self.located.remove(id);
                    }
                },
                Some(None) | None => engine.push(id.clone()),
            }
        }
        let source = if engine.len() > out.len() {
            StatsSource::Engine
        } else {
            StatsSource::Cgroup
        };
        if !engine.is_empty() {
            let docker = self.docker.clone();
            let got: Vec<(String, Counters)> = futures_util::stream::iter(engine)
                .map(|id| {
                    let docker = docker.clone();
                    async move { docker.stats_once(&id).await.ok().map(|c| (id, c)) }
                })
                .buffer_unordered(ENGINE_CONCURRENCY)
                .filter_map(|x| async move { x })
                .collect()
                .await;
            out.extend(got);
        }
        (out, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn v1_cgroupfs_and_systemd_paths_and_net_dev() {
        let tmp = std::env::temp_dir().join(format!("sdmd-stats-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let roots = Roots {
            cgroup: tmp.join("cg"),
            proc: tmp.join("proc"),
        };
        let id = "abc123";
        // systemd driver layout, /proc not visible (no pid).
        let scope = format!("system.slice/docker-{id}.scope");
        write(
            &roots
                .cgroup
                .join("cpuacct")
                .join(&scope)
                .join("cpuacct.usage"),
            "5000\n",
        );
        let mem = roots.cgroup.join("memory").join(&scope);
        write(&mem.join("memory.usage_in_bytes"), "1048576\n");
        write(&mem.join("memory.limit_in_bytes"), "9223372036854771712\n");
        write(
            &mem.join("memory.stat"),
            "cache 10\ntotal_inactive_file 4096\n",
        );
        write(
            &roots
                .cgroup
                .join("blkio")
                .join(&scope)
                .join("blkio.throttle.io_service_bytes"),
            "8:0 Read 100\n8:0 Write 200\n8:16 Read 1\n8:0 Total 300\nTotal 301\n",
        );
        write(
            &roots.cgroup.join("pids").join(&scope).join("pids.current"),
            "7\n",
        );
        let p = roots.locate(id, None, false).unwrap();
        assert_eq!(p.net_pid, None);
        let c = roots.read(&p).unwrap();
        assert_eq!(c.cpu_ns, 5000);
        assert_eq!(c.memory_used(), 1048576 - 4096);
        assert_eq!(c.memory_limit, None);
        assert_eq!((c.block_read, c.block_write), (101, 200));
        assert_eq!(c.pids, 7);
        assert_eq!(c.net_rx, None);

        // cgroupfs driver, the init pid's /proc names the container: net/dev is read.
        let other = "def456";
        let dir = format!("docker/{other}");
        write(
            &roots
                .cgroup
                .join("cpuacct")
                .join(&dir)
                .join("cpuacct.usage"),
            "1\n",
        );
        let mem = roots.cgroup.join("memory").join(&dir);
        write(&mem.join("memory.usage_in_bytes"), "10\n");
        write(&mem.join("memory.limit_in_bytes"), "16777216\n");
        write(
            &roots.proc.join("42/cgroup"),
            &format!("4:memory:/docker/{other}\n2:cpuacct:/docker/{other}\n0::/\n"),
        );
        write(
            &roots.proc.join("42/net/dev"),
            "Inter-| Receive\n face |bytes\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n  eth0: 572 6 0 0 0 0 0 0 128 2 0 0 0 0 0 0\n",
        );
        let p = roots.locate(other, Some(42), false).unwrap();
        assert_eq!(p.net_pid, Some(42));
        let c = roots.read(&p).unwrap();
        assert_eq!((c.net_rx, c.net_tx), (Some(572), Some(128)));
        assert_eq!(c.memory_limit, Some(16 << 20));
        // Host network: no network figures (they would be the host's).
        assert_eq!(roots.locate(other, Some(42), true).unwrap().net_pid, None);
        // A pid whose /proc entry is another process's: not trusted for net/dev.
        write(&roots.proc.join("43/cgroup"), "0::/user.slice\n");
        assert_eq!(roots.locate(other, Some(43), false).unwrap().net_pid, None);
        // Unknown container: nothing to read.
        assert!(roots.locate("nope", None, false).is_none());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn v2_layout() {
        let tmp = std::env::temp_dir().join(format!("sdmd-stats-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let roots = Roots {
            cgroup: tmp.join("cg"),
            proc: tmp.join("proc"),
        };
        let id = "v2id";
        let dir = roots.cgroup.join(format!("system.slice/docker-{id}.scope"));
        write(&dir.join("cpu.stat"), "usage_usec 2500\nuser_usec 2000\n");
        write(&dir.join("memory.current"), "8192\n");
        write(&dir.join("memory.max"), "max\n");
        write(&dir.join("memory.stat"), "anon 1\ninactive_file 4096\n");
        write(
            &dir.join("io.stat"),
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n",
        );
        write(&dir.join("pids.current"), "2\n");
        // Its private cgroup namespace shows "/" in /proc: the driver's path is found anyway.
        write(&roots.proc.join("9/cgroup"), "0::/\n");
        let p = roots.locate(id, Some(9), false).unwrap();
        assert_eq!(p.layout, Layout::V2(dir));
        let c = roots.read(&p).unwrap();
        assert_eq!(c.cpu_ns, 2_500_000);
        assert_eq!(c.memory_used(), 4096);
        assert_eq!(c.memory_limit, None);
        assert_eq!((c.block_read, c.block_write), (11, 22));
        assert_eq!(c.pids, 2);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn host_figures() {
        let tmp = std::env::temp_dir().join(format!("sdmd-stats-host-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let roots = Roots {
            cgroup: tmp.join("cg"),
            proc: tmp.join("proc"),
        };
        write(
            &roots.proc.join("meminfo"),
            "MemTotal:       2048 kB\nMemFree: 1 kB\n",
        );
        write(
            &roots.proc.join("stat"),
            "cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 5 0 5 35 5 0 0 0 0 0\ncpu1 5 0 5 35 5 0 0 0 0 0\nintr 1\n",
        );
        assert_eq!(roots.host_memory(), 2048 * 1024);
        assert_eq!(roots.host_cpus(), 2);
        assert_eq!(roots.host_cpu_ticks(), Some((20, 100)));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
