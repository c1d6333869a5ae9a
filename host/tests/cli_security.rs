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
