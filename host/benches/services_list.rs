//! Benchmark: `GET /api/v1/services` against the raw Engine call `GET /containers/json?all=1`
//! with 200 containers on the host, plus sdmd's resident memory. Two parts: sequential requests
//! on fresh connections (latency), then load as wrk would apply it — 2 threads × 16 keep-alive
//! connections for a few seconds each (throughput and latency under load) — on the Engine list,
//! the services list, the services list revalidated with `If-None-Match` (304) and a trivial
//! authenticated route (`GET /metrics`), with ratios against the Engine in the same run. Run
//! with `make bench` (which builds the release binary and sets `SDMD_BIN` and `DATABASE_URL`).
//! Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::docker;

const CONTAINERS: usize = 200;
const ROUNDS: usize = 400;
/// The load generator's shape: wrk's `-t2 -c32`.
const THREADS: usize = 2;
const CONNECTIONS_PER_THREAD: usize = 16;
/// How long each load phase runs (`SDMD_BENCH_LOAD_SECS` overrides it).
const LOAD_SECS: u64 = 5;

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

/// Where the load goes.
#[derive(Clone)]
enum Target {
    Tcp(String),
    Unix(&'static str),
}

/// What one load phase measured.
struct Load {
    requests: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// Reads one HTTP/1.1 response (Content-Length or chunked) and returns its size; its status
/// line must start with `expect`.
async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    expect: &str,
    buf: &mut Vec<u8>,
) -> usize {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut line = String::new();
    let (mut total, mut length, mut chunked, mut first) = (0, 0, false, true);
    loop {
        line.clear();
        let n = r.read_line(&mut line).await.unwrap();
        assert!(n > 0, "the connection closed mid-response");
        total += n;
        if first {
            assert!(line.starts_with(expect), "{line}");
            first = false;
            continue;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if !chunked {
        buf.resize(length, 0);
        r.read_exact(buf).await.unwrap();
        return total + length;
    }
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
        buf.resize(size + 2, 0);
        r.read_exact(buf).await.unwrap();
        total += size;
        if size == 0 {
            return total;
        }
    }
}

async fn hammer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: S,
    request: &[u8],
    expect: &str,
    until: Instant,
) -> (Vec<Duration>, usize) {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::io::BufReader::with_capacity(64 * 1024, s);
    let (mut latencies, mut bytes, mut buf) = (Vec::new(), 0, Vec::new());
    while Instant::now() < until {
        let t = Instant::now();
        s.get_mut().write_all(request).await.unwrap();
        bytes = read_response(&mut s, expect, &mut buf).await;
        latencies.push(t.elapsed());
    }
    (latencies, bytes)
}

/// `THREADS` × `CONNECTIONS_PER_THREAD` keep-alive connections sending `GET path` with
/// `headers` back to back for `secs`, as wrk does.
fn load(target: &Target, path: &str, headers: &str, expect: &'static str, secs: u64) -> Load {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").into_bytes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let until = start + Duration::from_secs(secs);
        let tasks: Vec<_> = (0..THREADS * CONNECTIONS_PER_THREAD)
            .map(|_| {
                let (target, request) = (target.clone(), request.clone());
                tokio::spawn(async move {
                    match target {
                        Target::Tcp(addr) => {
                            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
                            s.set_nodelay(true).unwrap();
                            hammer(s, &request, expect, until).await
                        }
                        Target::Unix(path) => {
                            let s = tokio::net::UnixStream::connect(path).await.unwrap();
                            hammer(s, &request, expect, until).await
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut bytes = 0;
        for t in tasks {
            let (l, b) = t.await.unwrap();
            all.extend(l);
            bytes = bytes.max(b);
        }
        let elapsed = start.elapsed().as_secs_f64();
        all.sort();
        Load {
            requests: all.len(),
            per_sec: all.len() as f64 / elapsed,
            p50: percentile(&all, 0.5),
            p99: percentile(&all, 0.99),
            bytes,
        }
    })
}

/// The `ETag` of an answer.
fn etag_of(addr: &str, path: &str, auth: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut b = Vec::new();
    s.read_to_end(&mut b).unwrap();
    let text = String::from_utf8_lossy(&b);
    text.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("etag:")
                .then(|| l[5..].trim().to_owned())
        })
        .expect("the list has an ETag")
}

/// A process's resident memory from `/proc/PID/status`: the total, its anonymous part (heap,
/// stacks) and its file-backed part (the binary's pages touched so far), and the peak.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    ["VmRSS:", "RssAnon:", "RssFile:", "VmHWM:"]
        .iter()
        .filter_map(|key| status.lines().find(|l| l.starts_with(key)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
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
    let memory_before = memory(server.id());

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
    println!("sdmd memory: {memory_before}   (target < 40 MB)");

    // Load, as wrk -t2 -c32 would apply it.
    let secs = std::env::var("SDMD_BENCH_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LOAD_SECS);
    let tcp = Target::Tcp(addr.clone());
    let etag = etag_of(&addr, "/api/v1/services", &auth);
    let phases = [
        (
            "docker GET /containers/json?all=1",
            load(
                &Target::Unix("/var/run/docker.sock"),
                "/containers/json?all=1",
                "",
                "HTTP/1.1 200",
                secs,
            ),
        ),
        (
            "sdmd   GET /api/v1/services",
            load(&tcp, "/api/v1/services", &auth, "HTTP/1.1 200", secs),
        ),
        (
            "sdmd   GET /api/v1/services (304)",
            load(
                &tcp,
                "/api/v1/services",
                &format!("{auth}If-None-Match: {etag}\r\n"),
                "HTTP/1.1 304",
                secs,
            ),
        ),
        (
            "sdmd   GET /metrics (trivial, authd)",
            load(&tcp, "/metrics", &auth, "HTTP/1.1 200", secs),
        ),
    ];
    println!(
        "load: {THREADS} threads x {CONNECTIONS_PER_THREAD} keep-alive connections, {secs} s per line"
    );
    println!(
        "{:<38} {:>10} {:>9} {:>10} {:>10} {:>9}",
        "", "req/s", "requests", "p50", "p99", "bytes"
    );
    for (name, l) in &phases {
        println!(
            "{:<38} {:>10.0} {:>9} {:>10.2?} {:>10.2?} {:>9}",
            name, l.per_sec, l.requests, l.p50, l.p99, l.bytes
        );
    }
    let engine = &phases[0].1;
    for (name, l) in &phases[1..] {
        println!(
            "ratio {:<32} req/s {:>7.2}x the Engine, p50 {:.4}x the Engine's under load, {:.4}x its sequential p50",
            name.trim_start_matches("sdmd   "),
            l.per_sec / engine.per_sec,
            l.p50.as_secs_f64() / engine.p50.as_secs_f64(),
            l.p50.as_secs_f64() / r50.as_secs_f64(),
        );
    }
    println!(
        "targets: list >= 5000 req/s and p50 <= 0.05x the Engine call; trivial authenticated route >= 15000 req/s; RSS < 40 MB"
    );
    println!("sdmd memory after the load: {}", memory(server.id()));

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
