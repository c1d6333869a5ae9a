//! The real binary: `sdmd serve` on its embedded default (no DATABASE_URL, fresh data dir, as the
//! user running the tests — root in CI), driven by the `sdmd` CLI client, stopped by SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn sdmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sdmd"));
    c.env_remove("DATABASE_URL")
        .env_remove("DOCKER_HOST")
        .env("SDMD_TLS", "off");
    c
}

fn cli(url: &str, token: &str, args: &[&str]) -> (bool, String) {
    let out = sdmd()
        .env("SDMD_URL", url)
        .env("SDMD_TOKEN", token)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn embedded_default_serves_and_the_cli_drives_it() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = sdmd()
        .arg("serve")
        .env("SDMD_DATA_DIR", data.path())
        .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .env("SDMD_ADMIN_EMAIL", "admin@example.com")
        .env("SDMD_ADMIN_PASSWORD", "embedded-admin-password")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(90);
    let health = loop {
        if let Some(status) = server.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("sdmd serve exited early ({status}): {err}");
        }
        let r = reqwest::blocking::Client::new()
            .get(format!("{url}/healthz"))
            .timeout(Duration::from_secs(2))
            .send();
        if let Ok(r) = r {
            let v: serde_json::Value = r.json().unwrap();
            if v["status"] == "ok" {
                break v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "sdmd did not become healthy within 90 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(health["database"]["ok"], true);
    assert!(
        data.path().join("postgres/PG_VERSION").exists(),
        "the embedded cluster lives in the data dir"
    );
    // Sign in as the first administrator (created from SDMD_ADMIN_EMAIL/PASSWORD).
    let session: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{url}/auth/v1/token?grant_type=password"))
        .json(&serde_json::json!({"email": "admin@example.com", "password": "embedded-admin-password"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = session["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in failed: {session}"))
        .to_owned();

    // The CLI client: apply (create + deploy), list, logs, stop, start, update.
    let name = unique("cli");
    let file = data.path().join("svc.yaml");
    std::fs::write(
        &file,
        format!(
            "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [\"sh\", \"-c\", \"echo hello from cli; exec sleep 300\"]\n    labels: {{sdmd.test: \"1\"}}\n"
        ),
    )
    .unwrap();
    let (ok, out) = cli(&url, &token, &["apply", "-f", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("created {name} (revision 1)")) && out.contains("created: app"),
        "{out}"
    );
    let (ok, out) = cli(&url, &token, &["services", "ls"]);
    assert!(ok, "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap_or_else(|| panic!("{name} not listed: {out}"));
    assert!(row.contains("managed") && row.contains("running"), "{row}");
    let logs = (0..50)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            cli(&url, &token, &["logs", &name])
        })
        .find(|(_, o)| o.contains("hello from cli"));
    assert!(logs.is_some(), "the log line never showed");
    let (ok, out) = cli(&url, &token, &["stop", &name]);
    assert!(ok && out.contains("stopped: app"), "{out}");
    let (ok, out) = cli(&url, &token, &["start", &name]);
    assert!(ok && out.contains("started: app"), "{out}");
    let (ok, out) = cli(&url, &token, &["apply", "-f", file.to_str().unwrap()]);
    assert!(ok && out.contains("unchanged: app"), "{out}");
    let (ok, out) = cli(&url, &token, &["deploy", "does-not-exist"]);
    assert!(!ok && out.contains("service_not_found"), "{out}");

    // Remove what we made through the API, then stop with SIGTERM: clean exit, Postgres stopped.
    let resp = reqwest::blocking::Client::new()
        .delete(format!("{url}/api/v1/services/{name}?volumes=true"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "sdmd did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "sdmd exited with {status}");
    assert!(
        !data.path().join("postgres/postmaster.pid").exists(),
        "PostgreSQL was stopped with sdmd"
    );
}
