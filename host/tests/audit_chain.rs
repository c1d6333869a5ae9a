//! The audit log: a hash chain `sdmd audit verify` checks, a least-privileged application role
//! that cannot rewrite history, and the 90-day retention floor of pruning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sdmd::db::audit::{self, AuditContext, NewEntry, Verification};
use serde_json::json;
use sqlx::PgPool;

async fn write(pool: &PgPool, n: usize) {
    for i in 0..n {
        let mut conn = pool.acquire().await.unwrap();
        let entry = NewEntry {
            action: "test.write",
            target: Some("chain"),
            result: "ok",
            details: json!({"i": i, "nested": {"z": 1, "a": [1, "two", null]}, "b": true}),
        };
        audit::record(
            &mut conn,
            &AuditContext {
                actor: "tester".into(),
                request_id: Some(format!("r{i}")),
                client_ip: None,
                client_request_id: None,
            },
            &entry,
        )
        .await
        .unwrap();
    }
}

async fn ids(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select id from audit_log order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Runs `sql` as superuser with the append-only trigger out of the way (an attacker with
/// superuser rights, or a restore gone wrong).
async fn as_superuser_bypassing_trigger(pool: &PgPool, sql: &str) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn chain_verifies_and_names_the_altered_row(pool: PgPool) {
    write(&pool, 5).await;
    let all = ids(&pool).await;
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact {
            rows: 5,
            first: Some(all[0]),
            last: Some(all[4])
        }
    );

    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_log set actor = 'mallory' where id = {}",
            all[2]
        ),
    )
    .await;
    match audit::verify(&pool).await.unwrap() {
        Verification::Broken { id, reason } => assert_eq!(id, all[2], "{reason}"),
        other => panic!("tampering not detected: {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_a_middle_row_breaks_the_next_link_but_pruning_the_oldest_does_not(pool: PgPool) {
    write(&pool, 6).await;
    let all = ids(&pool).await;
    // Pruning removes a prefix: the chain still verifies from the oldest remaining row.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id <= {}", all[1]),
    )
    .await;
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact {
            rows: 4,
            first: Some(all[2]),
            last: Some(all[5])
        }
    );
    // A hole in the middle is named by the row after it.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[3]),
    )
    .await;
    assert!(
        matches!(audit::verify(&pool).await.unwrap(), Verification::Broken { id, .. } if id == all[4])
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_the_newest_row_is_detected(pool: PgPool) {
    write(&pool, 3).await;
    let all = ids(&pool).await;
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[2]),
    )
    .await;
    assert!(
        matches!(audit::verify(&pool).await.unwrap(), Verification::Broken { id, .. } if id == all[2])
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_writers_keep_one_chain(pool: PgPool) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move { write(&pool, 5).await }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 40, .. }
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_application_role_cannot_rewrite_history(pool: PgPool) {
    let db: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test-env.sh)");
    let url = format!("{}/{db}", base.rsplit_once('/').unwrap().0);
    let app = sdmd::server::app_pool(&pool, &url)
        .await
        .unwrap()
        .expect("a superuser connection gets a dedicated application pool");
    let me: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(me, "sdmd_app");

    // The application appends through the chain…
    write(&app, 2).await;
    let id = ids(&pool).await[0];
    // …but cannot change or remove rows, even with the prune switch on and old rows.
    for sql in [
        format!("update audit_log set actor = 'mallory' where id = {id}"),
        format!("delete from audit_log where id = {id}"),
        "truncate audit_log".to_owned(),
    ] {
        let mut tx = app.begin().await.unwrap();
        sqlx::query("set local sdmd.audit_prune = 'on'")
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut *tx)
            .await
            .expect_err(&sql);
        let code = err
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {err}");
    }
    // The superuser sees the rows untouched.
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 2, .. }
    ));
    app.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn pruning_keeps_ninety_days(pool: PgPool) {
    for young in ["0", "30d", "89d", "89"] {
        assert!(
            sdmd::cli::parse_retention(young).is_err(),
            "{young} accepted"
        );
    }
    assert_eq!(sdmd::cli::parse_retention("90d").unwrap(), 90);
    write(&pool, 3).await;
    // Recent rows survive a prune, and the database refuses even when asked for fewer days.
    assert_eq!(audit::prune(&pool, 90).await.unwrap(), 0);
    let err = audit::prune(&pool, 0)
        .await
        .expect_err("the trigger must refuse young rows");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(ids(&pool).await.len(), 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn oversized_fields_are_truncated_and_still_chain(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let target = "t".repeat(10_000);
    let entry = audit::record(
        &mut conn,
        &AuditContext {
            actor: "é".repeat(5_000),
            request_id: Some("r".repeat(5_000)),
            client_ip: Some("1".repeat(5_000)),
            ..Default::default()
        },
        &NewEntry {
            action: "test.big",
            target: Some(&target),
            result: "ok",
            details: json!({"blob": "z".repeat(100_000), "n": 1}),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let (actor, target, request_id, client_ip, details): (String, String, String, String, String) =
        sqlx::query_as(
            "select actor, target, request_id, client_ip, details::text from audit_log where action = 'test.big'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    for (what, v) in [
        ("actor", &actor),
        ("target", &target),
        ("request_id", &request_id),
        ("client_ip", &client_ip),
    ] {
        assert!(
            v.len() <= 512, // documented in docs/security.md
            "{what} stored {} bytes",
            v.len()
        );
        assert!(v.ends_with('…'), "{what} is marked as truncated");
    }
    assert!(actor.starts_with("éé"), "cut on a character boundary");
    assert!(
        details.len() <= 16 * 1024,
        "details {} bytes",
        details.len()
    );
    assert_eq!(
        entry.details.as_ref().unwrap()["n"],
        1,
        "small values survive"
    );
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 1, .. }
    ));
}
