//! The audit log: an HMAC chain `sdmd audit verify` checks (every row, by id), an append trigger
//! that sets ids and times itself, a least-privileged application role that cannot rewrite
//! history or the chain head, audited pruning with its 90-day floor, and the append-only sink
//! that `verify --against` compares with the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sdmd::db::audit::{self, AuditContext, Entry, EntryRow, Links, NewEntry, Verification};
use serde_json::json;
use sqlx::PgPool;
use support::db::{as_superuser_bypassing_trigger, audit_ids, bypassing_triggers, url_of};

const ENTRY: &str = "id, at, actor, action, target, result, request_id, client_ip, details, encode(hash, 'hex') as hash, client_request_id";

async fn entries(pool: &PgPool) -> Vec<Entry> {
    let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENTRY} from audit_log order by id"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(Entry::from).collect()
}

async fn head_hash(pool: &PgPool) -> Vec<u8> {
    sqlx::query_scalar("select last_hash from audit_chain_head where id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How a rewriter recomputes the links of rows from `from_id` on.
#[derive(Clone, Copy)]
enum Relink {
    /// Plain SHA-256, as the chain was before the HMAC anchor (anyone can).
    Sha256,
    /// HMAC under the audit key (only someone who holds SDMD_SECRET_KEY can).
    Hmac,
}

/// As superuser (trigger off): recomputes `prev_hash`/`hash` of every row from `from_id` on, and
/// the chain head, so the chain is consistent again under `how` — what an attacker who rewrote
/// rows would do to hide it.
async fn relink(pool: &PgPool, from_id: i64, how: Relink) {
    let rows = entries(pool).await;
    let mut tx = bypassing_triggers(pool).await;
    let mut prev: Option<Vec<u8>> = None;
    for e in &rows {
        if e.id < from_id {
            prev = e.hash.as_deref().map(|h| hex::decode(h).unwrap());
            continue;
        }
        let p = match &prev {
            Some(p) => p.clone(),
            None => sqlx::query_scalar("select prev_hash from audit_log where id = $1")
                .bind(e.id)
                .fetch_one(&mut *tx)
                .await
                .unwrap(),
        };
        let h = match how {
            Relink::Sha256 => e.sha256_link(&p),
            Relink::Hmac => e.hmac_link(audit::key(), &p),
        };
        sqlx::query("update audit_log set prev_hash = $2, hash = $3 where id = $1")
            .bind(e.id)
            .bind(&p)
            .bind(h.as_slice())
            .execute(&mut *tx)
            .await
            .unwrap();
        prev = Some(h.to_vec());
    }
    if let (Some(last), Some(h)) = (rows.last(), prev) {
        sqlx::query("update audit_chain_head set last_id = $1, last_hash = $2 where id = 1")
            .bind(last.id)
            .bind(h)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn broken_at(v: Verification) -> (i64, String) {
    match v {
        Verification::Broken { id, reason } => (id, reason),
        other => panic!("tampering not detected: {other:?}"),
    }
}

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

#[sqlx::test(migrations = "../migrations")]
async fn chain_verifies_and_names_the_altered_row(pool: PgPool) {
    write(&pool, 5).await;
    let all = audit_ids(&pool).await;
    assert_eq!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact {
            rows: 5,
            first: Some(all[0]),
            last: Some(all[4]),
            legacy: 0,
            unhashed: 0,
            hmac_from: 1,
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
    match audit::verify(&pool, audit::key()).await.unwrap() {
        Verification::Broken { id, reason } => assert_eq!(id, all[2], "{reason}"),
        other => panic!("tampering not detected: {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_rows_outside_prune_is_detected(pool: PgPool) {
    write(&pool, 6).await;
    let all = audit_ids(&pool).await;
    // A hole in the middle is named by the row after it.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[3]),
    )
    .await;
    assert_eq!(
        broken_at(audit::verify(&pool, audit::key()).await.unwrap()).0,
        all[4]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_a_prefix_outside_prune_is_detected(pool: PgPool) {
    write(&pool, 4).await;
    let all = audit_ids(&pool).await;
    // Before the anchor, verify took the oldest remaining row as the start: a prefix could go.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id <= {}", all[1]),
    )
    .await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, all[2], "{reason}");
    assert!(reason.contains("prune"), "{reason}");
    // Moving the head's record of the start along does not help: without an audit.prune row, an
    // HMAC-linked first row must be the genesis link.
    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_chain_head set start_id = {0}, start_prev = (select prev_hash from audit_log where id = {0})",
            all[2]
        ),
    )
    .await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, all[2], "{reason}");
    assert!(reason.contains("genesis"), "{reason}");
}

#[sqlx::test(migrations = "../migrations")]
async fn removing_the_newest_row_is_detected(pool: PgPool) {
    write(&pool, 3).await;
    let all = audit_ids(&pool).await;
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[2]),
    )
    .await;
    assert!(
        matches!(audit::verify(&pool, audit::key()).await.unwrap(), Verification::Broken { id, .. } if id == all[2])
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
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 40, .. }
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_application_role_cannot_rewrite_history(pool: PgPool) {
    let app = app_pool(&pool).await;
    let me: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(me, "sdmd_app");

    // The application appends through the chain…
    write(&app, 2).await;
    let id = audit_ids(&pool).await[0];
    // …but cannot change or remove rows, even with the prune switch on and old rows.
    for sql in [
        format!("update audit_log set actor = 'mallory' where id = {id}"),
        format!("delete from audit_log where id = {id}"),
        "truncate audit_log".to_owned(),
        // Nor move the chain head, or the ids.
        "update audit_chain_head set last_hash = '\\x00', start_id = null".to_owned(),
        "delete from audit_chain_head".to_owned(),
        "select setval('audit_log_id_seq', 1)".to_owned(),
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
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 2, .. }
    ));
    app.close().await;
}

/// The dedicated application role `sdmd_app` over the test's database.
async fn app_pool(pool: &PgPool) -> PgPool {
    let url = url_of(pool).await;
    sdmd::server::app_pool(pool, &url)
        .await
        .unwrap()
        .expect("a superuser connection gets a dedicated application pool")
}

/// Issue 11: a row inserted as `sdmd_app` with `id = -1` and a back-dated `at` was listed by
/// `GET /api/v1/audit` while verify said "intact" (it lay below the chain's start).
#[sqlx::test(migrations = "../migrations")]
async fn a_row_forged_by_the_application_role_gets_its_id_and_time_from_the_trigger_and_is_reported(
    pool: PgPool,
) {
    let app = app_pool(&pool).await;
    write(&app, 3).await;
    let before = audit_ids(&pool).await;
    // The insert must extend the head: a wrong prev_hash is refused outright.
    let err = sqlx::query(
        "insert into audit_log (id, at, actor, action, result, prev_hash, hash)
         values (-1, '2020-01-01T00:00:00Z', 'mallory', 'service.delete', 'ok', '\\x00', sha256('x'))",
    )
    .execute(&app)
    .await
    .expect_err("a row that does not extend the head");
    assert!(err.to_string().contains("extend the chain head"), "{err}");
    // With the head's hash (the role can read it) and a recomputed plain SHA-256 link, the
    // trigger still takes the id and the time itself…
    let prev = head_hash(&app).await;
    let forged = Entry {
        id: -1,
        at: chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        actor: "mallory".into(),
        action: "service.delete".into(),
        target: None,
        result: "ok".into(),
        request_id: None,
        client_ip: None,
        details: None,
        hash: None,
        client_request_id: None,
    };
    let (id, at): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "insert into audit_log (id, at, actor, action, result, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7) returning id, at",
    )
    .bind(forged.id)
    .bind(forged.at)
    .bind(&forged.actor)
    .bind(&forged.action)
    .bind(&forged.result)
    .bind(&prev)
    .bind(forged.sha256_link(&prev).as_slice())
    .fetch_one(&app)
    .await
    .unwrap();
    assert!(id > *before.last().unwrap(), "id {id} set by the trigger");
    assert!(
        at > chrono::Utc::now() - chrono::Duration::hours(1),
        "time {at} set by the trigger"
    );
    // …and verify names the row: its link is no HMAC under SDMD's key.
    let (bad, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(bad, id, "{reason}");
    assert!(reason.contains("HMAC"), "{reason}");
    app.close().await;
}

/// A superuser who turns the trigger off can put a row anywhere: below the chain's start, with
/// no hash or a forged one. Every such row is walked and reported.
#[sqlx::test(migrations = "../migrations")]
async fn rows_inserted_directly_with_forged_hashes_are_reported(pool: PgPool) {
    write(&pool, 3).await;
    // Below the start, without a hash (skipped before: "rows written before the chain").
    as_superuser_bypassing_trigger(
        &pool,
        "insert into audit_log (id, at, actor, action, result)
         values (-1, '2020-01-01T00:00:00Z', 'mallory', 'service.delete', 'ok')",
    )
    .await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, -1, "{reason}");
    // Below the start, with a plain SHA-256 link from the genesis (and every later link
    // recomputed to follow it).
    as_superuser_bypassing_trigger(
        &pool,
        "update audit_log set prev_hash = '\\x0000000000000000000000000000000000000000000000000000000000000000' where id = -1",
    )
    .await;
    relink(&pool, -1, Relink::Sha256).await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, -1, "{reason}");
    assert!(reason.contains("below the chain's start"), "{reason}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_row_appended_directly_with_a_forged_hash_is_reported(pool: PgPool) {
    write(&pool, 3).await;
    let all = audit_ids(&pool).await;
    // At the end, extending the head with a forged (SHA-256) link, head updated to match.
    let prev = head_hash(&pool).await;
    let next = all[2] + 1;
    let forged = Entry {
        id: next,
        at: chrono::Utc::now(),
        actor: "mallory".into(),
        action: "service.create".into(),
        target: Some("backdoor".into()),
        result: "ok".into(),
        request_id: None,
        client_ip: None,
        details: None,
        hash: None,
        client_request_id: None,
    };
    let mut tx = bypassing_triggers(&pool).await;
    let h = forged.sha256_link(&prev);
    sqlx::query(
        "insert into audit_log (id, at, actor, action, target, result, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(next)
    .bind(forged.at)
    .bind(&forged.actor)
    .bind(&forged.action)
    .bind(&forged.target)
    .bind(&forged.result)
    .bind(&prev)
    .bind(h.as_slice())
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("update audit_chain_head set last_id = $1, last_hash = $2 where id = 1")
        .bind(next)
        .bind(h.as_slice())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, next, "{reason}");
    assert!(reason.contains("HMAC"), "{reason}");
}

/// The attack the plain SHA-256 chain could not see: rewrite a row, recompute every link after
/// it and the head.
#[sqlx::test(migrations = "../migrations")]
async fn a_rewritten_row_with_recomputed_sha256_links_is_reported(pool: PgPool) {
    write(&pool, 5).await;
    let all = audit_ids(&pool).await;
    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_log set actor = 'someone-else' where id = {}",
            all[1]
        ),
    )
    .await;
    relink(&pool, all[1], Relink::Sha256).await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, all[1], "{reason}");
    assert!(reason.contains("HMAC"), "{reason}");
    // What the chain cannot prove: whoever also holds the key can relink under it (the sink,
    // outside the database, still shows it: `sink_comparison_*`).
    relink(&pool, all[1], Relink::Hmac).await;
    assert!(matches!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 5, .. }
    ));
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
    // Recent rows survive a prune (which is recorded), and the database refuses even when asked
    // for fewer days.
    let done = audit::prune(&pool, &AuditContext::system(), 90)
        .await
        .unwrap();
    assert_eq!((done.deleted, done.range), (0, None));
    let err = audit::prune(&pool, &AuditContext::system(), 0)
        .await
        .expect_err("the trigger must refuse young rows");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(audit_ids(&pool).await.len(), 4);
    assert!(matches!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 4, .. }
    ));
}

/// Rows `ids` as if written `days` ago (a fixture: re-dated and relinked under the key, as
/// only the key's holder could).
async fn age(pool: &PgPool, ids: &[i64], days: i64) {
    for id in ids {
        as_superuser_bypassing_trigger(
            pool,
            &format!("update audit_log set at = at - interval '{days} days' where id = {id}"),
        )
        .await;
    }
    relink(pool, ids[0], Relink::Hmac).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn prune_is_audited_and_the_chain_verifies_from_its_new_start(pool: PgPool) {
    write(&pool, 5).await;
    let all = audit_ids(&pool).await;
    age(&pool, &all[..3], 120).await;
    assert!(matches!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 5, .. }
    ));
    let ctx = AuditContext {
        actor: "cli:tester".into(),
        ..Default::default()
    };
    let done = audit::prune(&pool, &ctx, 100).await.unwrap();
    assert_eq!(done.deleted, 3);
    assert_eq!(done.range, Some((all[0], all[2])));
    let rows = entries(&pool).await;
    assert_eq!(
        rows.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![all[3], all[4], done.row]
    );
    let rec = rows.last().unwrap();
    assert_eq!(
        (rec.actor.as_str(), rec.action.as_str()),
        ("cli:tester", "audit.prune")
    );
    let d = rec.details.as_ref().unwrap();
    assert_eq!(d["deleted"], 3);
    assert_eq!(d["from_id"], all[0]);
    assert_eq!(d["to_id"], all[2]);
    assert_eq!(d["kept_from_id"], all[3]);
    assert_eq!(d["older_than_days"], 100);
    // The chain verifies from the start the prune row records…
    assert_eq!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact {
            rows: 3,
            first: Some(all[3]),
            last: Some(done.row),
            legacy: 0,
            unhashed: 0,
            hmac_from: 1,
        }
    );
    // …and removing more of the prefix by hand is still reported.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[3]),
    )
    .await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, all[4], "{reason}");
    // A broken chain is not pruned: the prune row would record the tampered start as legitimate.
    let err = audit::prune(&pool, &ctx, 100).await.unwrap_err();
    assert!(
        matches!(&err, audit::PruneError::Broken { id, .. } if *id == all[4]),
        "{err}"
    );
    assert_eq!(entries(&pool).await.len(), 2, "nothing written");
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
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { rows: 1, .. }
    ));
}

fn sink_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sink_gets_one_line_per_committed_row_with_its_hash(pool: PgPool) {
    use sdmd::audit_sink::FileSink;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write(&pool, 2).await;
    let mut sink = FileSink::open(&path, &pool).await.unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Rows before the sink existed are exported first.
    assert_eq!(sink.export_pending(&pool).await.unwrap(), 2);
    // A row of a transaction still open is not exported; once committed, it is.
    let mut tx = pool.begin().await.unwrap();
    audit::record(
        &mut tx,
        &AuditContext::system(),
        &NewEntry {
            action: "test.tx",
            target: None,
            result: "ok",
            details: json!({}),
        },
    )
    .await
    .unwrap();
    assert_eq!(sink.export_pending(&pool).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(sink.export_pending(&pool).await.unwrap(), 1);
    let db = entries(&pool).await;
    let lines = sink_lines(&path);
    assert_eq!(lines.len(), 3);
    for (e, l) in db.iter().zip(&lines) {
        assert_eq!(l["id"], e.id);
        assert_eq!(l["hash"].as_str(), e.hash.as_deref());
        assert_eq!(l["action"], e.action);
    }
    // Reopened (a restart), it continues after its last line instead of repeating rows.
    drop(sink);
    write(&pool, 1).await;
    let mut sink = FileSink::open(&path, &pool).await.unwrap();
    assert_eq!(sink.export_pending(&pool).await.unwrap(), 1);
    assert_eq!(sink_lines(&path).len(), 4);

    // The running exporter writes each row as it is committed (NOTIFY), and its last export at
    // shutdown.
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(sdmd::audit_sink::run(pool.clone(), sink, stop.clone()));
    write(&pool, 2).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink_lines(&path).len() < 6 {
        assert!(std::time::Instant::now() < deadline, "rows not exported");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.cancel();
    task.await.unwrap();
    let ids_in_file: Vec<i64> = sink_lines(&path)
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids_in_file, audit_ids(&pool).await);
}

#[sqlx::test(migrations = "../migrations")]
async fn sink_comparison_shows_rewritten_deleted_and_inserted_rows(pool: PgPool) {
    use sdmd::audit_sink::{FileSink, compare};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write(&pool, 5).await;
    let mut sink = FileSink::open(&path, &pool).await.unwrap();
    sink.export_pending(&pool).await.unwrap();
    drop(sink);
    let all = audit_ids(&pool).await;
    let clean = compare(&pool, audit::key(), &path).await.unwrap();
    assert_eq!((clean.matched, clean.problems.len()), (5, 0), "{clean:?}");

    // Rewritten by someone who holds the key too: the chain verifies, the sink does not agree.
    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_log set actor = 'someone-else' where id = {}",
            all[1]
        ),
    )
    .await;
    relink(&pool, all[1], Relink::Hmac).await;
    assert!(matches!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact { .. }
    ));
    let cmp = compare(&pool, audit::key(), &path).await.unwrap();
    let bad: Vec<i64> = cmp.problems.iter().map(|(id, _)| *id).collect();
    assert!(bad.contains(&all[1]), "{cmp:?}");
    assert!(
        cmp.problems
            .iter()
            .any(|(id, what)| *id == all[1] && what.contains("rewritten")),
        "{cmp:?}"
    );

    // Deleted (the newest row, the head moved back) and inserted (a row the exporter never saw,
    // below newer ones): both named.
    as_superuser_bypassing_trigger(
        &pool,
        &format!("delete from audit_log where id = {}", all[4]),
    )
    .await;
    as_superuser_bypassing_trigger(
        &pool,
        "insert into audit_log (id, at, actor, action, result, prev_hash, hash)
         values (-1, now(), 'mallory', 'service.delete', 'ok', sha256('a'), sha256('b'))",
    )
    .await;
    let cmp = compare(&pool, audit::key(), &path).await.unwrap();
    assert!(
        cmp.problems
            .iter()
            .any(|(id, what)| *id == all[4] && what.contains("deleted")),
        "{cmp:?}"
    );
    assert!(
        cmp.problems
            .iter()
            .any(|(id, what)| *id == -1 && what.contains("inserted")),
        "{cmp:?}"
    );
    // A restart refuses to continue a sink the database contradicts.
    let err = FileSink::open(&path, &pool).await.unwrap_err();
    assert!(err.to_string().contains("row"), "{err}");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sink_accounts_for_pruned_rows_and_its_own_edits(pool: PgPool) {
    use sdmd::audit_sink::{FileSink, compare};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write(&pool, 4).await;
    let all = audit_ids(&pool).await;
    age(&pool, &all[..2], 120).await;
    let mut sink = FileSink::open(&path, &pool).await.unwrap();
    sink.export_pending(&pool).await.unwrap();
    audit::prune(&pool, &AuditContext::system(), 100)
        .await
        .unwrap();
    sink.export_pending(&pool).await.unwrap();
    let cmp = compare(&pool, audit::key(), &path).await.unwrap();
    assert_eq!(
        (cmp.matched, cmp.pruned, cmp.pending, cmp.problems.len()),
        (3, 2, 0, 0),
        "{cmp:?}"
    );
    // An edited sink line is reported too (its link no longer holds).
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"tester\"", "\"edited\"", 1)).unwrap();
    let cmp = compare(&pool, audit::key(), &path).await.unwrap();
    assert!(
        cmp.problems
            .iter()
            .any(|(id, what)| *id == all[0] && what.contains("sink line 1")),
        "{cmp:?}"
    );
}

/// An installation upgraded from the plain SHA-256 chain: its rows stay verifiable as legacy
/// rows (reported as such), new rows are HMAC-linked, and the first HMAC link covers the last
/// legacy hash, so the legacy prefix cannot be rewritten unseen either.
#[sqlx::test(migrations = false)]
async fn an_upgraded_chain_keeps_its_legacy_rows_verifiable(pool: PgPool) {
    let full = sqlx::migrate::Migrator::new(std::path::Path::new("../migrations"))
        .await
        .unwrap();
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new("../migrations"))
        .await
        .unwrap();
    before.migrations = full
        .migrations
        .iter()
        .filter(|m| m.version < 20261212000000)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    // Rows as the previous release wrote them: id from the sequence, SHA-256 link, head moved.
    for i in 0..3 {
        let mut tx = pool.begin().await.unwrap();
        let prev: Vec<u8> =
            sqlx::query_scalar("select last_hash from audit_chain_head where id = 1 for update")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        let (id, at): (i64, chrono::DateTime<chrono::Utc>) =
            sqlx::query_as("select nextval(pg_get_serial_sequence('audit_log', 'id')), now()")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        let e = Entry {
            id,
            at,
            actor: "old".into(),
            action: "test.legacy".into(),
            target: None,
            result: "ok".into(),
            request_id: None,
            client_ip: None,
            details: Some(json!({"i": i})),
            hash: None,
            client_request_id: None,
        };
        let h = e.sha256_link(&prev);
        sqlx::query(
            "insert into audit_log (id, at, actor, action, result, details, prev_hash, hash)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.result)
        .bind(&e.details)
        .bind(&prev)
        .bind(h.as_slice())
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query("update audit_chain_head set last_id = $1, last_hash = $2 where id = 1")
            .bind(id)
            .bind(h.as_slice())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let legacy_ids = audit_ids(&pool).await;
    full.run(&pool).await.unwrap();
    write(&pool, 2).await;
    let all = audit_ids(&pool).await;
    assert_eq!(
        audit::verify(&pool, audit::key()).await.unwrap(),
        Verification::Intact {
            rows: 5,
            first: Some(legacy_ids[0]),
            last: Some(all[4]),
            legacy: 3,
            unhashed: 0,
            hmac_from: legacy_ids[2] + 1,
        }
    );
    // Rewriting a legacy row and recomputing the SHA-256 links after it breaks at the first HMAC
    // row, whose link covers the last legacy hash.
    as_superuser_bypassing_trigger(
        &pool,
        &format!(
            "update audit_log set actor = 'mallory' where id = {}",
            legacy_ids[1]
        ),
    )
    .await;
    relink(&pool, legacy_ids[1], Relink::Sha256).await;
    let (id, reason) = broken_at(audit::verify(&pool, audit::key()).await.unwrap());
    assert_eq!(id, all[3], "{reason}");
}
