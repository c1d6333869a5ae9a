//! The real binary with default settings serves HTTPS only (self-signed certificate generated in
//! the data dir, fingerprint logged), the CLI trusts that certificate, `SDMD_TLS=files` reloads
//! on SIGHUP, and SIGTERM still shuts down gracefully.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::db::ScratchDb;
use support::free_port;
use support::process::{Server, client_trusting, serve_command};

fn start(data: &Path, port: u16, db: &str, extra: &[(&str, &str)]) -> Server {
    let mut c = serve_command(env!("CARGO_BIN_EXE_sdmd"), data, port);
    c.env_remove("SDMD_TLS")
        .env_remove("DOCKER_HOST")
        .env("DATABASE_URL", db)
        .env("SDMD_ADMIN_EMAIL", "admin@example.com")
        .env("SDMD_ADMIN_PASSWORD", "tls-test-password")
        .env("RUST_LOG", "info");
    for (k, v) in extra {
        c.env(k, v);
    }
    Server::spawn(&mut c)
}

fn wait_https(server: &mut Server, cert: &Path, port: u16) -> reqwest::blocking::Response {
    // Ready means healthy: Docker's events stream connected and the database answering
    // (the list answers 503 until then).
    server.wait_for(Duration::from_secs(60), "HTTPS", || {
        if !cert.exists() {
            return None;
        }
        let r = client_trusting(cert)
            .get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .ok()?;
        client_trusting(cert)
            .get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .ok()
            .and_then(|h| h.json::<serde_json::Value>().ok())
            .is_some_and(|h| h["status"] == "ok")
            .then_some(r)
    })
}

fn stop(server: Server) {
    let status = server.terminate();
    assert!(status.success(), "sdmd exited with {status}");
}

fn cli(data_dir: &Path, url: &str, token: &str, args: &[&str]) -> (bool, String) {
    support::process::output(
        support::process::client(url, token)
            .env("SDMD_DATA_DIR", data_dir)
            .env_remove("SDMD_CACERT")
            .env_remove("SDMD_INSECURE")
            .args(args),
    )
}

#[test]
fn default_settings_serve_https_only() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = ScratchDb::create("sdmd_tls");
    let mut server = start(data.path(), port, &db.url, &[]);
    let cert = data.path().join("tls/cert.pem");
    let r = wait_https(&mut server, &cert, port);
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age="),
        "HSTS missing"
    );
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // The key is private; the fingerprint in the log is the certificate's.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.path().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "key.pem is readable by others: {mode:o}");
    let fp = sdmd::tls::fingerprint(&cert).unwrap();
    let log = std::fs::read_to_string(data.path().join("server.log")).unwrap();
    assert!(log.contains(&fp), "fingerprint {fp} not logged:\n{log}");
    // The dashboard's settings page reads the same fingerprint from /healthz (signed in: the
    // public answer is `{status}` only).
    let session: serde_json::Value = client_trusting(&cert)
        .post(format!(
            "https://127.0.0.1:{port}/auth/v1/token?grant_type=password"
        ))
        .json(&serde_json::json!({"email": "admin@example.com", "password": "tls-test-password"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let health: serde_json::Value = client_trusting(&cert)
        .get(format!("https://127.0.0.1:{port}/healthz"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["tls_fingerprint"], fp.as_str(), "{health}");

    // Plain HTTP on the same port gets no answer.
    let plain = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let r = plain.get(format!("http://127.0.0.1:{port}/healthz")).send();
    assert!(
        r.as_ref().map_or(true, |r| r.status() != 200),
        "plain HTTP answered: {:?}",
        r.map(|r| r.status())
    );

    // The CLI trusts the data dir's certificate by default, refuses an unknown one, and
    // --insecure skips verification.
    let url = format!("https://127.0.0.1:{port}");
    let session: serde_json::Value = client_trusting(&cert)
        .post(format!("{url}/auth/v1/token?grant_type=password"))
        .json(&serde_json::json!({"email": "admin@example.com", "password": "tls-test-password"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = session["access_token"].as_str().unwrap();
    let (ok, out) = cli(data.path(), &url, token, &["services", "ls"]);
    assert!(ok && out.contains("KIND"), "{out}");
    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, out) = cli(elsewhere.path(), &url, token, &["services", "ls"]);
    assert!(!ok, "an untrusted certificate was accepted: {out}");
    let (ok, out) = cli(
        elsewhere.path(),
        &url,
        token,
        &["services", "ls", "--insecure"],
    );
    assert!(ok, "{out}");
    // Without a token the API refuses.
    let (ok, out) = cli(data.path(), &url, "", &["services", "ls"]);
    assert!(!ok && out.contains("unauthorized"), "{out}");

    // A restart keeps the certificate (clients pinned it) and the signing key (sessions survive).
    stop(server);
    let mut server = start(data.path(), port, &db.url, &[]);
    wait_https(&mut server, &cert, port);
    assert_eq!(sdmd::tls::fingerprint(&cert).unwrap(), fp);
    let (ok, out) = cli(data.path(), &url, token, &["services", "ls"]);
    assert!(ok, "the access token did not survive a restart: {out}");
    stop(server);
    drop(db);
}

#[test]
fn files_mode_reloads_on_sighup() {
    let data = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let (first_cert, first_key) =
        sdmd::tls::ensure_self_signed(&data.path().join("a"), &names).unwrap();
    let (second_cert, second_key) =
        sdmd::tls::ensure_self_signed(&data.path().join("b"), &names).unwrap();
    let live_cert = data.path().join("live-cert.pem");
    let live_key = data.path().join("live-key.pem");
    std::fs::copy(&first_cert, &live_cert).unwrap();
    std::fs::copy(&first_key, &live_key).unwrap();
    let port = free_port();
    let db = ScratchDb::create("sdmd_tls");
    let mut server = start(
        data.path(),
        port,
        &db.url,
        &[
            ("SDMD_TLS", "files"),
            ("SDMD_TLS_CERT", live_cert.to_str().unwrap()),
            ("SDMD_TLS_KEY", live_key.to_str().unwrap()),
        ],
    );
    wait_https(&mut server, &first_cert, port);
    let url = format!("https://127.0.0.1:{port}/healthz");
    assert!(
        client_trusting(&second_cert).get(&url).send().is_err(),
        "the second certificate is not served yet"
    );

    std::fs::copy(&second_cert, &live_cert).unwrap();
    std::fs::copy(&second_key, &live_key).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client_trusting(&second_cert).get(&url).send().is_err() {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the certificate"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        client_trusting(&first_cert).get(&url).send().is_err(),
        "the old certificate is still served"
    );
    stop(server);
    drop(db);
}
