//! The maintenance CLI against a real database: `sdmd user add|list|passwd|remove` (passwords
//! from stdin) and `sdmd audit verify|prune`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use sqlx::PgPool;

async fn url_of(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test-env.sh)");
    format!("{}/{db}", base.rsplit_once('/').unwrap().0)
}

/// Runs `sdmd args…` against `url` with `stdin`; returns (success, stdout+stderr).
fn sdmd(url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sdmd"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("USER", "tester")
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
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn user_commands_read_passwords_from_stdin_and_are_audited(pool: PgPool) {
    let url = url_of(&pool).await;
    let (ok, out) = sdmd(
        &url,
        &["user", "add", "ops@example.com"],
        "first-password-123\n",
    );
    assert!(ok && out.contains("added ops@example.com"), "{out}");
    let (ok, out) = sdmd(
        &url,
        &["user", "add", "ops@example.com"],
        "first-password-123\n",
    );
    assert!(!ok && out.contains("already exists"), "{out}");
    let (ok, out) = sdmd(&url, &["user", "add", "weak@example.com"], "short\n");
    assert!(!ok && out.contains("at least 8"), "{out}");
    let (ok, out) = sdmd(&url, &["user", "list"], "");
    assert!(ok && out.contains("ops@example.com"), "{out}");

    let hash1: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash1.starts_with("$argon2id$"), "{hash1}");
    let (ok, out) = sdmd(
        &url,
        &["user", "passwd", "ops@example.com"],
        "second-password-456\n",
    );
    assert!(ok, "{out}");
    let hash2: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(hash1, hash2);
    let (ok, out) = sdmd(&url, &["user", "remove", "ops@example.com"], "");
    assert!(ok, "{out}");
    let (ok, out) = sdmd(&url, &["user", "remove", "ops@example.com"], "");
    assert!(!ok && out.contains("No user"), "{out}");

    let actions: Vec<(String, String)> =
        sqlx::query_as("select actor, action from audit_log order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<(String, String)> = ["user.create", "user.passwd", "user.remove"]
        .iter()
        .map(|a| ("cli:tester".to_owned(), (*a).to_owned()))
        .collect();
    assert_eq!(actions, expected);
}

#[sqlx::test(migrations = "../migrations")]
async fn token_commands_print_the_secret_once(pool: PgPool) {
    let url = url_of(&pool).await;
    let out = Command::new(env!("CARGO_BIN_EXE_sdmd"))
        .args(["token", "create", "ci", "--expires-in-days", "30"])
        .env("DATABASE_URL", &url)
        .env("USER", "tester")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        secret.starts_with("sdmd_"),
        "stdout carries only the secret: {secret}"
    );
    let id = sdmd::auth::tokens::authenticate(&pool, &secret)
        .await
        .unwrap();
    let (ok, out) = sdmd(&url, &["token", "list"], "");
    assert!(ok && out.contains("ci") && !out.contains(&secret), "{out}");
    let token_id: uuid::Uuid = sqlx::query_scalar("select id from api_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(id.actor, format!("token:ci:{token_id}"));
    let (ok, out) = sdmd(&url, &["token", "revoke", &token_id.to_string()], "");
    assert!(ok, "{out}");
    assert!(
        sdmd::auth::tokens::authenticate(&pool, &secret)
            .await
            .is_err()
    );
    let actions: Vec<(String, String)> =
        sqlx::query_as("select actor, action from audit_log order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            ("cli:tester".to_owned(), "token.create".to_owned()),
            ("cli:tester".to_owned(), "token.revoke".to_owned())
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn audit_verify_names_the_broken_row_and_prune_keeps_ninety_days(pool: PgPool) {
    let url = url_of(&pool).await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let (ok, out) = sdmd(&url, &["user", "add", email], "a-fine-password\n");
        assert!(ok, "{out}");
    }
    let (ok, out) = sdmd(&url, &["audit", "verify"], "");
    assert!(ok && out.contains("audit chain intact: 3 rows"), "{out}");

    let (ok, out) = sdmd(&url, &["audit", "prune", "--older-than", "30d"], "");
    assert!(!ok && out.contains("refusing"), "{out}");
    let (ok, out) = sdmd(&url, &["audit", "prune", "--older-than", "90d"], "");
    assert!(ok && out.contains("pruned 0"), "{out}");

    let ids: Vec<i64> = sqlx::query_scalar("select id from audit_log order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update audit_log set result = 'error' where id = $1")
        .bind(ids[1])
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (ok, out) = sdmd(&url, &["audit", "verify"], "");
    assert!(
        !ok && out.contains(&format!("broken at row {}", ids[1])),
        "{out}"
    );
}

/// `sdmd user add` next to a running server on the embedded cluster: the CLI reuses the cluster
/// and leaves it running; the new user can sign in right away.
#[test]
fn user_add_next_to_a_running_embedded_server() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = env!("CARGO_BIN_EXE_sdmd");
    let mut server = Command::new(bin)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("SDMD_TLS")
        .env("SDMD_DATA_DIR", data.path())
        .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cert = data.path().join("tls/cert.pem");
    let client = |cert: &std::path::Path| {
        reqwest::blocking::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap(),
            )
            .timeout(std::time::Duration::from_secs(3))
            .build()
            .unwrap()
    };
    let health = |c: &reqwest::blocking::Client| -> Option<serde_json::Value> {
        c.get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .ok()?
            .json()
            .ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(cert.exists() && health(&client(&cert)).is_some_and(|h| h["status"] == "ok")) {
        assert!(
            server.try_wait().unwrap().is_none(),
            "sdmd serve exited early"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "sdmd did not become ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let mut add = Command::new(bin)
        .args(["user", "add", "late@example.com"])
        .env_remove("DATABASE_URL")
        .env("SDMD_DATA_DIR", data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"late-password-1\n")
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let c = client(&cert);
    assert_eq!(
        health(&c).unwrap()["status"],
        "ok",
        "the CLI stopped the server's database"
    );
    let session: serde_json::Value = c
        .post(format!(
            "https://127.0.0.1:{port}/auth/v1/token?grant_type=password"
        ))
        .json(&serde_json::json!({"email": "late@example.com", "password": "late-password-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(session["access_token"].is_string(), "{session}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        !data.path().join("postgres/postmaster.pid").exists(),
        "the server stops the cluster it started"
    );
}
