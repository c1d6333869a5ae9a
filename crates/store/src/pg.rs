//! The embedded default database: a private PostgreSQL cluster in the data directory, built
//! from the system's PostgreSQL binaries, created on first start and started/stopped with SDMD.
//!
//! It listens on a unix socket only, in a directory only its owner can enter, so trust
//! authentication on that socket is safe. PostgreSQL refuses to run as root: when SDMD runs as
//! root the cluster runs as the `postgres` system user.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The cluster's socket port (no TCP listener is opened; the number only names the socket).
const PORT: u16 = 5432;

/// A running embedded cluster; [`EmbeddedPostgres::stop`] shuts it down.
#[derive(Clone)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

/// Finds the newest installed PostgreSQL server binaries (`SDMD_PG_BIN` overrides).
fn find_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("SDMD_PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "no PostgreSQL server binaries found under /usr/lib/postgresql (install postgresql, set SDMD_PG_BIN, or set DATABASE_URL)"
        ),
    }
}

impl EmbeddedPostgres {
    /// Creates (first time) and starts the cluster under `data_dir`; returns it and its URL.
    pub async fn start(data_dir: &Path) -> anyhow::Result<(Self, String)> {
        let bin = find_bin()?;
        let data = data_dir.join("postgres");
        let socket_dir = data_dir.join("postgres-run");
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres")
                .context("looking up the postgres user")?
                .context("SDMD runs as root, and PostgreSQL refuses root: create a `postgres` system user (the postgresql package does)")?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        } else {
            None
        };
        for dir in [&data, &socket_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            set_mode(dir, 0o700)?;
            if let Some((uid, gid)) = run_as {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                    .with_context(|| format!("chown {}", dir.display()))?;
            }
        }
        if run_as.is_some() {
            // The postgres user must be able to traverse into the data dir (not list it).
            let mode = std::fs::metadata(data_dir)?.permissions();
            use std::os::unix::fs::PermissionsExt;
            if mode.mode() & 0o001 == 0 {
                set_mode(data_dir, mode.mode() | 0o711)?;
            }
        }
        let mut pg = Self {
            bin,
            data,
            socket_dir,
            run_as,
            started_here: false,
        };
        let me = pg.clone();
        pg.started_here = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            if !me.data.join("PG_VERSION").exists() {
                tracing::info!(dir = %me.data.display(), "creating the embedded PostgreSQL cluster");
                me.run("initdb", &["-D", path_str(&me.data)?, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"])?;
            }
            if me.run("pg_ctl", &["-D", path_str(&me.data)?, "status"]).is_ok() {
                tracing::info!("embedded PostgreSQL is already running; reusing it");
                // Whoever started it stops it: `sdmd user add` next to a running server must
                // not take the server's database down when it exits.
                return Ok(false);
            }
            me.start_server(60)?;
            Ok(true)
        })
        .await
        .context("starting the embedded PostgreSQL")??;
        let url = format!(
            "postgres://postgres@localhost/postgres?host={}&port={PORT}",
            pg.socket_dir.display()
        );
        // Our own database inside the cluster, so `postgres` stays the maintenance database.
        let admin = crate::db::connect(&url)
            .await
            .context("connecting to the embedded PostgreSQL")?;
        crate::db::ensure_sdmd_database(&admin)
            .await
            .context("creating database sdmd")?;
        admin.close().await;
        let url = format!(
            "postgres://postgres@localhost/sdmd?host={}&port={PORT}",
            pg.socket_dir.display()
        );
        Ok((pg, url))
    }

    /// `pg_ctl start`, waiting at most `timeout_secs` for the server to accept connections.
    fn start_server(&self, timeout_secs: u32) -> anyhow::Result<()> {
        let mut opts = format!(
            "-c listen_addresses='' -k {} -p {PORT}",
            path_str(&self.socket_dir)?
        );
        // After a crash PostgreSQL first fsyncs every file of the data directory (seconds on a
        // busy disk); `syncfs` (PostgreSQL 14+, Linux) flushes the file system once, with the
        // same durability, so a restarted cluster serves again within the supervisor's budget.
        let major: u32 = std::fs::read_to_string(self.data.join("PG_VERSION"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if major >= 14 {
            opts.push_str(" -c recovery_init_sync_method=syncfs");
        }
        let log = self.data.join("server.log");
        let t = timeout_secs.to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data)?,
                "-l",
                path_str(&log)?,
                "-w",
                "-t",
                &t,
                "-o",
                &opts,
                "start",
            ],
        )
    }

    /// Whether the postmaster accepts connections on its socket (a killed one leaves the socket
    /// file behind and refuses; a stopped one removes it).
    async fn accepting(&self) -> Result<(), String> {
        let socket = self.socket_dir.join(format!(".s.PGSQL.{PORT}"));
        match tokio::time::timeout(
            std::time::Duration::from_secs(2),
            tokio::net::UnixStream::connect(&socket),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("{}: {e}", socket.display())),
            Err(_) => Err(format!("{}: no answer within 2 s", socket.display())),
        }
    }

    /// Lock files (the data directory's `postmaster.pid`, the socket's `.lock`) naming a
    /// postmaster that is gone, or a zombie nobody reaped (it still answers `kill(pid, 0)`, so
    /// PostgreSQL would refuse to start), are removed.
    fn clear_stale_locks(&self) {
        let locks = [
            self.data.join("postmaster.pid"),
            self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock")),
        ];
        for lock in locks {
            let Some(pid) = std::fs::read_to_string(&lock)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
            else {
                continue;
            };
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim().to_owned()));
            let gone = state.is_none_or(|rest| rest.starts_with('Z') || rest.starts_with('X'));
            if gone {
                tracing::info!(pid, lock = %lock.display(), "removing the stale lock file of a dead postmaster");
                let _ = std::fs::remove_file(&lock);
            }
        }
    }

    /// Watches the cluster while SDMD serves and restarts it, with backoff (0.2 s doubling to
    /// 10 s), when it stops or crashes; logs why. Ends when `shutdown` is cancelled, before
    /// [`EmbeddedPostgres::stop`] runs. A cluster another process started is left to it.
    pub fn supervise(
        &self,
        shutdown: tokio_util::sync::CancellationToken,
        every: std::time::Duration,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if !self.started_here {
            return None;
        }
        let pg = self.clone();
        Some(tokio::spawn(async move {
            let mut backoff = std::time::Duration::from_millis(200);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let Err(why) = pg.accepting().await else {
                    backoff = std::time::Duration::from_millis(200);
                    continue;
                };
                if shutdown.is_cancelled() {
                    return;
                }
                tracing::warn!(reason = %why, "embedded PostgreSQL stopped unexpectedly; restarting it");
                loop {
                    let me = pg.clone();
                    let started = tokio::task::spawn_blocking(move || {
                        me.clear_stale_locks();
                        me.start_server(10)
                    })
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r);
                    match started {
                        Ok(()) => {
                            tracing::info!("embedded PostgreSQL restarted");
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, retry_in = ?backoff, "restarting the embedded PostgreSQL failed");
                            tokio::select! {
                                () = shutdown.cancelled() => return,
                                () = tokio::time::sleep(backoff) => {}
                            }
                            backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                        }
                    }
                }
            }
        }))
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.args(args)
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid).env("HOME", &self.data);
        }
        let out = cmd.output().with_context(|| format!("running {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(())
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is flushed).
    pub async fn stop(self) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || {
            self.run(
                "pg_ctl",
                &["-D", path_str(&self.data)?, "-m", "fast", "-w", "stop"],
            )
        })
        .await
        .context("stopping the embedded PostgreSQL")?
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not valid UTF-8", p.display()))
}

fn set_mode(p: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", p.display()))
}
