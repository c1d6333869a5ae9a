//! The real binary: `sdmd serve` on its embedded default (no DATABASE_URL, fresh data dir, as the
//! user running the tests — root in CI), driven by the `sdmd` CLI client, stopped by SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::process::{Server, healthy, output, serve_command};
use support::*;

/// On the embedded default: no `DATABASE_URL`, no `DOCKER_HOST`, plain HTTP.
fn embedded(mut c: Command) -> Command {
    c.env_remove("DATABASE_URL")
        .env_remove("DOCKER_HOST")
        .env("SDMD_TLS", "off");
    c
}

fn cli(url: &str, token: &str, args: &[&str]) -> (bool, String) {
    output(embedded(support::process::client(url, token)).args(args))
}

/// `sdmd serve` on the embedded default in `data`, with a first administrator.
fn serve(data: &std::path::Path, port: u16) -> Server {
    Server::spawn(
        embedded(serve_command(env!("CARGO_BIN_EXE_sdmd"), data, port))
            .env("RUST_LOG", "info")
            .env("SDMD_ADMIN_EMAIL", "admin@example.com")
            .env("SDMD_ADMIN_PASSWORD", "embedded-admin-password"),
    )
}

#[test]
fn embedded_default_serves_and_the_cli_drives_it() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(data.path(), port);
    let probe = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let health = server.wait_for(Duration::from_secs(90), "sdmd healthy", || {
        healthy(&probe, &url)
    });
    // `status` is "ok" only when the database answers (details need a token: issue 11, item 8).
    assert_eq!(health["status"], "ok", "{health}");
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
    let status = server.terminate();
    assert!(status.success(), "sdmd exited with {status}");
    assert!(
        !data.path().join("postgres/postmaster.pid").exists(),
        "PostgreSQL was stopped with sdmd"
    );
}

/// The embedded cluster is sdmd's own: killed (SIGKILL of the postmaster) or stopped
/// (`pg_ctl stop -m fast`) under a running server, it is restarted and requests that need the
/// database answer 200 again within the 5 s (issue 11, item 13).
#[test]
fn embedded_postgres_is_restarted_when_it_dies() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = data.path().join("server.log");
    let mut server = serve(data.path(), port);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let sign_in = || -> Option<String> {
        let v: serde_json::Value = client
            .post(format!("{url}/auth/v1/token?grant_type=password"))
            .json(&serde_json::json!({"email": "admin@example.com", "password": "embedded-admin-password"}))
            .send()
            .ok()?
            .json()
            .ok()?;
        v["access_token"].as_str().map(str::to_owned)
    };
    let token = server.wait_for(Duration::from_secs(90), "sdmd ready", sign_in);
    // A request that needs the database: the services list may be answered from memory (the
    // hot-path cache) until the invalidation listener notices the database is gone.
    let services = || {
        client
            .get(format!("{url}/api/v1/audit?limit=1"))
            .bearer_auth(&token)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(services(), 200);
    let pg_data = data.path().join("postgres");
    let postmaster = || -> i32 {
        std::fs::read_to_string(pg_data.join("postmaster.pid"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // Back: a request that needs the database answers 200 and, when `dead` is given, a postmaster
    // other than that one runs (a backend of the killed one may still answer for a moment).
    let back_within_5s = |what: &str, dead: Option<i32>| {
        let since = Instant::now();
        let pid = || {
            std::fs::read_to_string(pg_data.join("postmaster.pid"))
                .ok()?
                .lines()
                .next()?
                .trim()
                .parse::<i32>()
                .ok()
        };
        while services() != 200 || (dead.is_some() && pid() == dead) {
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "after {what}, sdmd did not answer 200 within 5 s:\n{}\npostgres:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default(),
                std::fs::read_to_string(pg_data.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // SIGKILL of the postmaster.
    let before = postmaster();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(before),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    back_within_5s("SIGKILL", Some(before));
    assert_ne!(postmaster(), before, "a new postmaster serves");

    // A clean stop by hand (as the cluster's owner).
    let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("bin/pg_ctl"))
        .find(|p| p.exists())
        .unwrap();
    let mut stop = Command::new("runuser");
    stop.args(["-u", "postgres", "--"]).arg(&pg_ctl);
    if !nix::unistd::geteuid().is_root() {
        stop = Command::new(&pg_ctl);
    }
    let out = stop
        .args(["-D", pg_data.to_str().unwrap(), "-m", "fast", "-w", "stop"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    back_within_5s("pg_ctl stop", None);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("embedded PostgreSQL stopped unexpectedly"),
        "the restart is logged with its reason:\n{text}"
    );

    assert!(server.terminate().success());
}
