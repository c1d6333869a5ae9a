//! Benchmark: 200 running containers sampled every second for 60 s by sdmd (the cgroup files),
//! side by side, in the same run, with the same 200 containers watched through Docker's
//! per-container streaming stats API (one `GET /containers/{id}/stats?stream=1` connection per
//! container, what Dozzle does), and with sdmd's Engine fallback (`SDMD_STATS_SOURCE=engine`:
//! one-shot stats, 64 at a time). For each phase it prints the CPU seconds used by sdmd (or the
//! streaming client), dockerd, containerd, the containerd shims and PostgreSQL, from
//! `/proc/<pid>/stat`; for sdmd also the mean and last sampling round (from `/metrics`) and its
//! resident memory growth over the window. Run with `make bench` (which builds the release
//! binary and sets `SDMD_BIN` and `DATABASE_URL`). Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::docker;

const CONTAINERS: usize = 200;
/// The measured window of each phase (`SDMD_BENCH_STATS_SECS` overrides it).
const WINDOW_SECS: u64 = 60;
const LABEL: &str = "sdmd.bench-stats=1";

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const HZ: f64 = 100.0;

/// utime + stime of a process, in ticks.
fn ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command may hold spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Pids by command name group: dockerd, containerd, shims, postgres.
fn daemons() -> HashMap<&'static str, Vec<u32>> {
    let mut out: HashMap<&'static str, Vec<u32>> = HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let group = match comm.trim() {
            "dockerd" => "dockerd",
            "containerd" => "containerd",
            c if c.starts_with("containerd-shim") => "shims",
            "postgres" => "postgres",
            _ => continue,
        };
        out.entry(group).or_default().push(pid);
    }
    out
}

/// Ticks of each daemon group now.
fn daemon_ticks(d: &HashMap<&'static str, Vec<u32>>) -> HashMap<&'static str, u64> {
    d.iter()
        .map(|(k, pids)| (*k, pids.iter().map(|p| ticks(*p)).sum()))
        .collect()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What one phase measured: CPU seconds per group.
struct Phase {
    name: &'static str,
    client_s: f64,
    groups: HashMap<&'static str, f64>,
}

impl Phase {
    fn daemons_s(&self) -> f64 {
        ["dockerd", "containerd", "shims"]
            .iter()
            .map(|g| self.groups.get(g).copied().unwrap_or(0.0))
            .sum()
    }
}

fn measure_daemons(
    before: &HashMap<&'static str, u64>,
    d: &HashMap<&'static str, Vec<u32>>,
) -> HashMap<&'static str, f64> {
    let after = daemon_ticks(d);
    after
        .iter()
        .map(|(k, v)| (*k, v.saturating_sub(before[k]) as f64 / HZ))
        .collect()
}

/// One request on a fresh connection: the status line, then the body (chunked transfer
/// decoded, so a metric line is never split by a chunk header).
fn http(addr: &str, req: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut b = Vec::new();
    s.read_to_end(&mut b).unwrap();
    let text = String::from_utf8_lossy(&b).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return text;
    };
    let status = head.lines().next().unwrap_or_default();
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return format!("{status}\r\n\r\n{body}");
    }
    let (mut out, mut rest) = (String::new(), body);
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    format!("{status}\r\n\r\n{out}")
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs sdmd sampling every second for the window; returns the phase and round figures.
fn sdmd_phase(bin: &str, db_url: &str, engine: bool, secs: u64) -> (Phase, String) {
    let port = support::free_port();
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env("DATABASE_URL", db_url)
        .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SDMD_TLS", "off")
        .env("SDMD_ADMIN_EMAIL", "bench@example.com")
        .env("SDMD_ADMIN_PASSWORD", "bench-password-123456")
        .env("SDMD_STATS_INTERVAL", "1")
        .env("SDMD_STATS_SOURCE", if engine { "engine" } else { "auto" })
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    // Killed on drop: a panic below does not leave it running.
    let server = support::process::Server::spawn(&mut cmd);
    let pid = server.id();
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let token = loop {
        let body = r#"{"email":"bench@example.com","password":"bench-password-123456"}"#;
        if std::net::TcpStream::connect(&addr).is_ok() {
            let text = http(
                &addr,
                &format!(
                    "POST /auth/v1/token?grant_type=password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            );
            if text.starts_with("HTTP/1.1 200")
                && let Some(json) = text.split("\r\n\r\n").nth(1)
            {
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                break v["access_token"].as_str().unwrap().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "sdmd did not sign us in");
        std::thread::sleep(Duration::from_millis(100));
    };
    let metrics = || {
        http(
            &addr,
            &format!(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    // Warm up: the first rounds find each container's cgroup (one inspect each).
    loop {
        let text = metrics();
        let rounds = metric(&text, "sdmd_stats_rounds_total");
        if rounds >= 5.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sdmd did not sample: {}",
            &text[..text.len().min(600)]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let m0 = metrics();
    let d = daemons();
    let (t0, c0, r0) = (daemon_ticks(&d), ticks(pid), rss_kb(pid));
    std::thread::sleep(Duration::from_secs(secs));
    let m1 = metrics();
    let groups = measure_daemons(&t0, &d);
    let client_s = ticks(pid).saturating_sub(c0) as f64 / HZ;
    let r1 = rss_kb(pid);
    let rounds = metric(&m1, "sdmd_stats_round_seconds_count")
        - metric(&m0, "sdmd_stats_round_seconds_count");
    let spent =
        metric(&m1, "sdmd_stats_round_seconds_sum") - metric(&m0, "sdmd_stats_round_seconds_sum");
    let read = m1
        .lines()
        .filter(|l| l.starts_with("sdmd_container_pids{"))
        .count();
    let source = m1
        .lines()
        .find(|l| l.starts_with("sdmd_stats_source{"))
        .unwrap_or("")
        .to_owned();
    let detail = format!(
        "{rounds:.0} rounds, mean round {:.2} ms, last round {:.2} ms, {read} containers per round, {source}; RSS {:.1} MB → {:.1} MB (growth {:+.2} MB)",
        spent / rounds * 1000.0,
        metric(&m1, "sdmd_stats_last_round_seconds") * 1000.0,
        r0 as f64 / 1024.0,
        r1 as f64 / 1024.0,
        (r1 as f64 - r0 as f64) / 1024.0
    );
    server.terminate();
    (
        Phase {
            name: if engine {
                "sdmd, Engine fallback (one-shot, 64 at a time)"
            } else {
                "sdmd, cgroup files"
            },
            client_s,
            groups,
        },
        detail,
    )
}

/// Nobody watching: what the daemons (and 200 shims) cost on their own over the window.
fn idle_phase(secs: u64) -> (Phase, String) {
    let d = daemons();
    let t0 = daemon_ticks(&d);
    std::thread::sleep(Duration::from_secs(secs));
    (
        Phase {
            name: "idle (nothing watching)",
            client_s: 0.0,
            groups: measure_daemons(&t0, &d),
        },
        "the baseline the other lines are compared over".into(),
    )
}

/// 200 streaming stats connections read for the window (what Dozzle does).
fn streaming_phase(ids: &[String], secs: u64) -> (Phase, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = std::process::id();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = tokio_util::sync::CancellationToken::new();
        let mut tasks = Vec::new();
        for id in ids {
            let (id, total, stop) = (id.clone(), total.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::UnixStream::connect("/var/run/docker.sock")
                    .await
                    .unwrap();
                s.write_all(
                    format!("GET /containers/{id}/stats?stream=1 HTTP/1.1\r\nHost: docker\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    tokio::select! {
                        n = s.read(&mut buf) => match n {
                            Ok(0) | Err(_) => return,
                            Ok(n) => { total.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed); }
                        },
                        () = stop.cancelled() => return,
                    }
                }
            }));
        }
        // Let every stream start (dockerd begins collecting), then measure.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let d = daemons();
        let (t0, c0) = (daemon_ticks(&d), ticks(me));
        let b0 = total.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let groups = measure_daemons(&t0, &d);
        let client_s = ticks(me).saturating_sub(c0) as f64 / HZ;
        let bytes = total.load(std::sync::atomic::Ordering::Relaxed) - b0;
        stop.cancel();
        for t in tasks {
            let _ = t.await;
        }
        (
            Phase {
                name: "Docker streaming stats (200 connections)",
                client_s,
                groups,
            },
            format!(
                "{} connections, {:.1} MB of stats JSON read",
                ids.len(),
                bytes as f64 / 1e6
            ),
        )
    })
}

fn main() {
    let bin =
        std::env::var("SDMD_BIN").expect("SDMD_BIN: path to a release sdmd (make bench sets it)");
    let secs = std::env::var("SDMD_BENCH_STATS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(WINDOW_SECS);
    for id in docker(&["ps", "-aq", "--filter", &format!("label={LABEL}")]).lines() {
        docker(&["rm", "-f", id]);
    }
    let t = Instant::now();
    // Four at a time: the engine serialises much of a start anyway.
    std::thread::scope(|s| {
        for part in 0..4 {
            s.spawn(move || {
                for i in (part..CONTAINERS).step_by(4) {
                    docker(&[
                        "run",
                        "-d",
                        "--label",
                        LABEL,
                        "--name",
                        &format!("sdmd-bench-stats-{i}"),
                        "local/busybox:1",
                        "sleep",
                        "3600",
                    ]);
                }
            });
        }
    });
    let ids: Vec<String> = docker(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label={LABEL}"),
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    assert_eq!(ids.len(), CONTAINERS);
    println!(
        "started {CONTAINERS} containers in {:.1} s; each phase measures {secs} s",
        t.elapsed().as_secs_f64()
    );

    let db = support::db::ScratchDb::create("sdmd_bench_stats");
    let phases = std::panic::catch_unwind(|| {
        vec![
            idle_phase(secs),
            sdmd_phase(&bin, &db.url, false, secs),
            streaming_phase(&ids, secs),
            sdmd_phase(&bin, &db.url, true, secs),
        ]
    });
    let lines = match phases {
        Ok(lines) => lines,
        Err(e) => {
            for id in &ids {
                docker(&["rm", "-f", id]);
            }
            std::panic::resume_unwind(e);
        }
    };

    let idle = lines[0].0.daemons_s();
    println!(
        "\n| {secs} s, 200 containers, every 1 s | client | dockerd | containerd | shims | dockerd+containerd+shims | client+daemons | added over idle | % of one core (added) | postgres |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (p, _) in &lines {
        let g = |k: &str| p.groups.get(k).copied().unwrap_or(0.0);
        let total = p.client_s + p.daemons_s();
        println!(
            "| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} % | {:.2} s |",
            p.name,
            p.client_s,
            g("dockerd"),
            g("containerd"),
            g("shims"),
            p.daemons_s(),
            total,
            total - idle,
            (total - idle) / secs as f64 * 100.0,
            g("postgres"),
        );
    }
    for (p, d) in &lines {
        println!("{}: {d}", p.name);
    }
    let dd = |p: &Phase| {
        p.client_s
            + p.groups.get("dockerd").copied().unwrap_or(0.0)
            + p.groups.get("containerd").copied().unwrap_or(0.0)
    };
    let added = |p: &Phase| p.client_s + p.daemons_s() - idle;
    let (sd, st, en) = (&lines[1].0, &lines[2].0, &lines[3].0);
    println!(
        "client + dockerd + containerd: sdmd {:.2} s ({:.2} % of one core), streaming {:.2} s: {:.1}× less",
        dd(sd),
        dd(sd) / secs as f64 * 100.0,
        dd(st),
        dd(st) / dd(sd).max(0.01)
    );
    println!(
        "added over idle (client + all daemons and shims): sdmd {:.2} s, streaming {:.2} s: {:.1}× less; Engine fallback {:.2} s ({:.1}× sdmd's)",
        added(sd),
        added(st),
        added(st) / added(sd).max(0.01),
        added(en),
        added(en) / added(sd).max(0.01)
    );
    for id in &ids {
        docker(&["rm", "-f", id]);
    }
    drop(db);
}
