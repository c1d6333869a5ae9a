//! The `sdmd` binary this build made: CLI runs (with stdin, combined output) and `sdmd serve`
//! processes that are stopped with SIGTERM by the test, or killed when it fails first (they would
//! hold their database open).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `sdmd` (the binary of this build; benchmarks pass their own, e.g. a release build).
pub fn sdmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sdmd"))
}

/// The CLI client of the server at `url`, acting with `token`.
pub fn client(url: &str, token: &str) -> Command {
    let mut c = sdmd();
    c.env("SDMD_URL", url).env("SDMD_TOKEN", token);
    c
}

fn text(out: &std::process::Output) -> (bool, String) {
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `cmd` to its end: (success, stdout+stderr).
pub fn output(cmd: &mut Command) -> (bool, String) {
    text(&cmd.output().unwrap())
}

/// Runs `cmd` with `stdin` written to it: (success, stdout+stderr).
pub fn output_with_stdin(cmd: &mut Command, stdin: &str) -> (bool, String) {
    text(&run_with_stdin(cmd, stdin))
}

/// Runs `cmd` with `stdin` written to it; its output as captured.
pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `cmd` to its end without blocking the runtime (an in-process server may be serving it
/// on the same thread): (success, stdout+stderr).
pub async fn output_async(cmd: Command) -> (bool, String) {
    text(&tokio::process::Command::from(cmd).output().await.unwrap())
}

/// `bin serve` with its data in `data`, listening on `127.0.0.1:port`, stdout discarded and
/// stderr written to `data/server.log` ([`Server::log`]).
pub fn serve_command(bin: &str, data: &Path, port: u16) -> Command {
    let mut c = Command::new(bin);
    c.arg("serve")
        .env("SDMD_DATA_DIR", data)
        .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("server.log")).unwrap());
    c
}

/// A running `sdmd serve`: killed on drop unless [`Server::terminate`]d.
pub struct Server {
    child: Option<Child>,
    log: Option<PathBuf>,
}

impl Server {
    /// Starts `cmd` (from [`serve_command`], whose log it reads on failures, or any other).
    pub fn spawn(cmd: &mut Command) -> Self {
        let log = cmd
            .get_envs()
            .find(|(k, _)| *k == "SDMD_DATA_DIR")
            .and_then(|(_, v)| v)
            .map(|d| Path::new(d).join("server.log"))
            .filter(|p| p.exists());
        Self {
            child: Some(cmd.spawn().unwrap()),
            log,
        }
    }

    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// What the server logged so far (empty without a log file).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Panics with the log if the server exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child().try_wait().unwrap() {
            panic!("sdmd serve exited early ({status}): {}", self.log());
        }
    }

    /// Polls `probe` every 200 ms until it answers, panicking with the log when the server
    /// exits or `within` passes.
    pub fn wait_for<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            self.assert_running();
            if let Some(v) = probe() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// [`Server::wait_for`] from async code: the probe is a future.
    pub async fn wait_for_async<T, F, Fut>(
        &mut self,
        within: Duration,
        what: &str,
        mut probe: F,
    ) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + within;
        loop {
            self.assert_running();
            if let Some(v) = probe().await {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then waits up to 30 s for the exit; returns its status.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "sdmd did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `/healthz` of `base` when it answers `status: ok` (the database answering and Docker's events
/// stream connected).
pub fn healthy(client: &reqwest::blocking::Client, base: &str) -> Option<serde_json::Value> {
    client
        .get(format!("{base}/healthz"))
        .send()
        .ok()?
        .json::<serde_json::Value>()
        .ok()
        .filter(|h| h["status"] == "ok")
}

/// A blocking client that trusts the PEM certificate at `cert` (a server's self-signed one).
pub fn client_trusting(cert: &Path) -> reqwest::blocking::Client {
    let pem = std::fs::read(cert).unwrap();
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}
