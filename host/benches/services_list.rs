//! Benchmark: `GET /api/v1/services` against the raw Engine call `GET /containers/json?all=1`
//! with 200 containers on the host, plus sdmd's resident memory. Run with `make bench` (which
//! builds the release binary and sets `SDMD_BIN` and `DATABASE_URL`). Prints figures; asserts
//! nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::docker;

const CONTAINERS: usize = 200;
const ROUNDS: usize = 400;

/// One HTTP/1.1 GET on a fresh connection, read to the end: the same work for both sides.
fn get<S: Read + Write>(mut s: S, path: &str, extra_headers: &str) -> usize {
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra_headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::with_capacity(256 * 1024);
    s.read_to_end(&mut buf).unwrap();
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..buf.len().min(200)])
    );
    buf.len()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let bin =
        std::env::var("SDMD_BIN").expect("SDMD_BIN: path to a release sdmd (make bench sets it)");
    let db = support::db::ScratchDb::create("sdmd_bench");
    let db_url = db.url.clone();

    // 200 containers (created, not running: the list includes them all the same).
    for id in docker(&["ps", "-aq", "--filter", "label=sdmd.bench"]).lines() {
        docker(&["rm", "-f", id]);
    }
    let t = Instant::now();
    for i in 0..CONTAINERS {
        docker(&[
            "create",
            "--label",
            "sdmd.bench=1",
            "--name",
            &format!("sdmd-bench-{i}"),
            "local/busybox:1",
            "sleep",
            "1",
        ]);
    }
    let total: usize = docker(&["ps", "-aq"]).lines().count();
    println!(
        "created {CONTAINERS} containers in {:?} ({total} on the host)",
        t.elapsed()
    );

    let port = support::free_port();
    let mut server = Command::new(&bin)
        .arg("serve")
        .env("DATABASE_URL", &db_url)
        .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SDMD_TLS", "off")
        .env("SDMD_ADMIN_EMAIL", "bench@example.com")
        .env("SDMD_ADMIN_PASSWORD", "bench-password-123456")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    // Sign in like the dashboard does (GoTrue password grant) and use the access token.
    let deadline = Instant::now() + Duration::from_secs(30);
    let token = loop {
        let body = r#"{"email":"bench@example.com","password":"bench-password-123456"}"#;
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            write!(
                s,
                "POST /auth/v1/token?grant_type=password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut b = Vec::new();
            s.read_to_end(&mut b).unwrap();
            let text = String::from_utf8_lossy(&b);
            if text.starts_with("HTTP/1.1 200")
                && let Some(json) = text.split("\r\n\r\n").nth(1)
            {
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                break v["access_token"].as_str().unwrap().to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "sdmd did not sign us in within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let auth = format!("Authorization: Bearer {token}\r\n");
    // Wait for the events stream to be connected (the list answers 503 until then).
    loop {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET /api/v1/services HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut b = Vec::new();
        s.read_to_end(&mut b).unwrap();
        if b.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sdmd did not serve the list within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let raw = || {
        get(
            std::os::unix::net::UnixStream::connect("/var/run/docker.sock").unwrap(),
            "/containers/json?all=1",
            "",
        )
    };
    let sdmd = || {
        get(
            std::net::TcpStream::connect(&addr).unwrap(),
            "/api/v1/services",
            &auth,
        )
    };
    for _ in 0..20 {
        raw();
        sdmd();
    }
    let (mut raw_t, mut sdmd_t) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    let (mut raw_bytes, mut sdmd_bytes) = (0, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        raw_bytes = raw();
        raw_t.push(t.elapsed());
        let t = Instant::now();
        sdmd_bytes = sdmd();
        sdmd_t.push(t.elapsed());
    }
    raw_t.sort();
    sdmd_t.sort();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: ?")
        .to_owned();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?")
        .to_owned();

    let (r50, r99, s50, s99) = (
        percentile(&raw_t, 0.5),
        percentile(&raw_t, 0.99),
        percentile(&sdmd_t, 0.5),
        percentile(&sdmd_t, 0.99),
    );
    println!("{ROUNDS} rounds, fresh connection per request, {total} containers on the host");
    println!("{:<34} {:>10} {:>10} {:>9}", "", "p50", "p99", "bytes");
    println!(
        "{:<34} {:>10.2?} {:>10.2?} {:>9}",
        "docker GET /containers/json?all=1", r50, r99, raw_bytes
    );
    println!(
        "{:<34} {:>10.2?} {:>10.2?} {:>9}",
        "sdmd   GET /api/v1/services", s50, s99, sdmd_bytes
    );
    println!(
        "ratio sdmd/docker: p50 {:.3}, p99 {:.3}   (target <= 0.5)",
        s50.as_secs_f64() / r50.as_secs_f64(),
        s99.as_secs_f64() / r99.as_secs_f64()
    );
    println!("sdmd memory: {rss} (peak {hwm})   (target < 60 MB)");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    server.wait().unwrap();
    for id in docker(&["ps", "-aq", "--filter", "label=sdmd.bench"]).lines() {
        docker(&["rm", "-f", id]);
    }
    drop(db);
}
