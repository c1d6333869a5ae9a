//! The maintenance CLI against a real database: `sdmd user add|list|passwd|remove` (passwords
//! from stdin) and `sdmd audit verify|prune`, and the audit sink of `sdmd serve` compared with
//! `sdmd audit verify --against`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use sqlx::PgPool;
use support::db::{as_superuser_bypassing_trigger, audit_ids, url_of};
use support::free_port;
use support::process::{
    Server, client_trusting, healthy, output_with_stdin, run_with_stdin, serve_command,
};

/// The installation key these tests share with the binaries they run (32 bytes, base64).
const SECRET_KEY: &str = "c2RtZC10ZXN0LWtleS1vZi1jbGktc2VjdXJpdHktcnM=";

/// Runs `sdmd args…` against `url` with `stdin`; returns (success, stdout+stderr).
fn sdmd(url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    output_with_stdin(maintenance(url).args(args), stdin)
}

/// `sdmd` on the database at `url`, under the shared key, as the user `tester`.
fn maintenance(url: &str) -> Command {
    let mut c = support::process::sdmd();
    c.env("DATABASE_URL", url)
        .env("SDMD_SECRET_KEY", SECRET_KEY)
        .env("USER", "tester");
    c
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
    let out = maintenance(&url)
        .args(["token", "create", "ci", "--expires-in-days", "30"])
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

    let ids = audit_ids(&pool).await;
    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_log set result = 'error' where id = {}",
            ids[1]
        ),
    )
    .await;
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
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let mut server = Server::spawn(
        serve_command(env!("CARGO_BIN_EXE_sdmd"), data.path(), port)
            .env_remove("DATABASE_URL")
            .env_remove("SDMD_TLS"),
    );
    let cert = data.path().join("tls/cert.pem");
    let health = |c: &reqwest::blocking::Client| -> Option<serde_json::Value> {
        c.get(format!("{base}/healthz")).send().ok()?.json().ok()
    };
    server.wait_for(Duration::from_secs(60), "sdmd ready", || {
        cert.exists()
            .then(|| healthy(&client_trusting(&cert), &base))
            .flatten()
    });

    let (ok, out) = output_with_stdin(
        support::process::sdmd()
            .args(["user", "add", "late@example.com"])
            .env_remove("DATABASE_URL")
            .env("SDMD_DATA_DIR", data.path()),
        "late-password-1\n",
    );
    assert!(ok, "{out}");

    let c = client_trusting(&cert);
    assert_eq!(
        health(&c).unwrap()["status"],
        "ok",
        "the CLI stopped the server's database"
    );
    let session: serde_json::Value = c
        .post(format!("{base}/auth/v1/token?grant_type=password"))
        .json(&serde_json::json!({"email": "late@example.com", "password": "late-password-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(session["access_token"].is_string(), "{session}");

    let status = server.terminate();
    assert!(status.success(), "{status}");
    assert!(
        !data.path().join("postgres/postmaster.pid").exists(),
        "the server stops the cluster it started"
    );
}

/// Maintenance commands link audit rows under the server's key: without one they write nothing
/// (they never invent a key the server does not have).
#[sqlx::test(migrations = "../migrations")]
async fn maintenance_commands_without_the_key_write_nothing(pool: PgPool) {
    let url = url_of(&pool).await;
    let empty = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        support::process::sdmd()
            .args(["user", "add", "nokey@example.com"])
            .env("DATABASE_URL", &url)
            .env_remove("SDMD_SECRET_KEY")
            .env("SDMD_DATA_DIR", empty.path()),
        "a-fine-password\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("SDMD_SECRET_KEY"), "{err}");
    assert!(!empty.path().join("secret.key").exists(), "no key invented");
    let n: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `sdmd serve` with `SDMD_AUDIT_SINK=file:…` appends every committed row, also those the CLI
/// writes next to it; `sdmd audit verify --against` agrees until a database row is rewritten
/// (even with its link recomputed), and `sdmd audit prune` is recorded. `syslog` is refused.
#[sqlx::test(migrations = "../migrations")]
async fn serve_exports_the_audit_log_and_verify_against_finds_a_rewritten_row(pool: PgPool) {
    let url = url_of(&pool).await;
    let bin = env!("CARGO_BIN_EXE_sdmd");
    let data = tempfile::tempdir().unwrap();
    let sink = data.path().join("audit.jsonl");

    let out = maintenance(&url)
        .arg("serve")
        .env("SDMD_DATA_DIR", data.path())
        .env("SDMD_TLS", "off")
        .env("SDMD_LISTEN", "127.0.0.1:0")
        .env("SDMD_AUDIT_SINK", "syslog")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("SDMD_AUDIT_SINK=syslog is not supported"),
        "{err}"
    );

    let port = free_port();
    let mut server = Server::spawn(
        serve_command(bin, data.path(), port)
            .env("DATABASE_URL", &url)
            .env("SDMD_SECRET_KEY", SECRET_KEY)
            .env("SDMD_TLS", "off")
            .env("SDMD_AUDIT_SINK", format!("file:{}", sink.display()))
            .env("SDMD_ADMIN_EMAIL", "admin@example.com")
            .env("SDMD_ADMIN_PASSWORD", "admin-password-1"),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    server
        .wait_for_async(Duration::from_secs(60), "sdmd ready", || async {
            http.get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
                .then_some(())
        })
        .await;
    // A row written by the CLI next to the server reaches the server's sink.
    let (ok, out) = sdmd(
        &url,
        &["user", "add", "second@example.com"],
        "a-fine-password\n",
    );
    assert!(ok, "{out}");
    let (ok, out) = sdmd(&url, &["audit", "prune", "--older-than", "90d"], "");
    assert!(ok && out.contains("pruned 0"), "{out}");
    let wait_for_sink = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while lines(&sink).len() < n {
            assert!(std::time::Instant::now() < deadline, "rows not exported");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("select id, actor, action from audit_log order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        rows.iter()
            .any(|(_, a, act)| a == "cli:tester" && act == "audit.prune"),
        "{rows:?}"
    );
    wait_for_sink(rows.len());
    let exported: Vec<i64> = lines(&sink)
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(exported, rows.iter().map(|r| r.0).collect::<Vec<_>>());

    let against = ["audit", "verify", "--against", sink.to_str().unwrap()];
    let (ok, out) = sdmd(&url, &against, "");
    assert!(ok && out.contains("0 mismatches"), "{out}");

    // Rewritten in the database, behind the trigger's back.
    let victim = rows[0].0;
    as_superuser_bypassing_trigger(
        &pool,
        &format!("update audit_log set actor = 'someone-else' where id = {victim}"),
    )
    .await;
    let (ok, out) = sdmd(&url, &against, "");
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("sink mismatch at row {victim}")),
        "{out}"
    );
    assert!(out.contains(&format!("broken at row {victim}")), "{out}");

    let status = server.terminate();
    assert!(status.success(), "{status}");
}
