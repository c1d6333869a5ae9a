//! The append-only audit log. Every mutation records exactly one row through [`record`], inside
//! the same transaction as the change it describes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use utoipa::ToSchema;

/// Who did something, and from where.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// User email, token name, `scheduler` or `system`.
    pub actor: String,
    /// The request id (`x-request-id`), when the action came through the API.
    pub request_id: Option<String>,
    /// The client's address, when known.
    pub client_ip: Option<String>,
}

impl AuditContext {
    /// Actions SDMD takes on its own.
    pub fn system() -> Self {
        Self {
            actor: "system".into(),
            ..Self::default()
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// What was done, e.g. `service.create`, `service.deploy`.
    pub action: &'a str,
    /// What it was done to, e.g. the service name.
    pub target: Option<&'a str>,
    /// `ok` or the error code.
    pub result: &'a str,
    /// Before → after summary and other technical facts.
    pub details: serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Entry {
    /// Monotonic id (the pagination cursor).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// `ok` or an error code.
    pub result: String,
    /// Request id.
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Technical details.
    pub details: Option<serde_json::Value>,
    /// Hex SHA-256 link of the hash chain: `sha256(previous hash ‖ canonical row)`.
    pub hash: Option<String>,
}

const ENTRY_COLUMNS: &str = "id, at, actor, action, target, result, request_id, client_ip, details, encode(hash, 'hex') as hash";

/// Appends one row (call it inside the transaction of the change it records).
///
/// The row is linked into the hash chain: the chain head row is locked `for update`, which
/// serializes concurrent writers across replicas until the surrounding transaction ends, so every
/// row's `prev_hash` is the hash of the row committed just before it.
pub async fn record(
    conn: &mut PgConnection,
    ctx: &AuditContext,
    e: &NewEntry<'_>,
) -> Result<Entry, sqlx::Error> {
    // A savepoint inside the caller's transaction, or a transaction of its own when the caller has
    // none: the lock, the timestamp and the insert must share one transaction.
    let mut tx = conn.begin().await?;
    let (prev,): (Vec<u8>,) =
        sqlx::query_as("select last_hash from audit_chain_head where id = 1 for update")
            .fetch_one(&mut *tx)
            .await?;
    let (id, at): (i64, DateTime<Utc>) =
        sqlx::query_as("select nextval(pg_get_serial_sequence('audit_log', 'id')), now()")
            .fetch_one(&mut *tx)
            .await?;
    let details = Some(e.details.clone());
    let row = CanonicalRow {
        id,
        at,
        actor: &ctx.actor,
        action: e.action,
        target: e.target,
        result: e.result,
        request_id: ctx.request_id.as_deref(),
        client_ip: ctx.client_ip.as_deref(),
        details: details.as_ref(),
    };
    let hash = chain_hash(&prev, &row);
    let entry = sqlx::query_as::<_, Entry>(sqlx::AssertSqlSafe(format!(
        "insert into audit_log (id, at, actor, action, target, result, request_id, client_ip, details, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         returning {ENTRY_COLUMNS}"
    )))
    .bind(id)
    .bind(at)
    .bind(&ctx.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.result)
    .bind(&ctx.request_id)
    .bind(&ctx.client_ip)
    .bind(&e.details)
    .bind(&prev)
    .bind(hash.as_slice())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("update audit_chain_head set last_id = $1, last_hash = $2 where id = 1")
        .bind(id)
        .bind(hash.as_slice())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(entry)
}

/// The fields a chain link covers, in a fixed order.
struct CanonicalRow<'a> {
    id: i64,
    at: DateTime<Utc>,
    actor: &'a str,
    action: &'a str,
    target: Option<&'a str>,
    result: &'a str,
    request_id: Option<&'a str>,
    client_ip: Option<&'a str>,
    details: Option<&'a serde_json::Value>,
}

impl CanonicalRow<'_> {
    /// A JSON array of the fields with object keys sorted and microsecond UTC time, so that the
    /// bytes do not depend on how PostgreSQL's jsonb reorders keys.
    fn bytes(&self) -> Vec<u8> {
        let mut out = String::from("[");
        out.push_str(&self.id.to_string());
        out.push(',');
        canonical_json(
            &serde_json::Value::String(self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            &mut out,
        );
        for s in [
            Some(self.actor),
            Some(self.action),
            self.target,
            Some(self.result),
            self.request_id,
            self.client_ip,
        ] {
            out.push(',');
            match s {
                Some(s) => canonical_json(&serde_json::Value::String(s.to_owned()), &mut out),
                None => out.push_str("null"),
            }
        }
        out.push(',');
        match self.details {
            Some(d) => canonical_json(d, &mut out),
            None => out.push_str("null"),
        }
        out.push(']');
        out.into_bytes()
    }
}

/// Serializes `v` with object keys sorted (recursively) and no whitespace.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(&serde_json::Value::String((*k).clone()), out);
                out.push(':');
                if let Some(child) = map.get(*k) {
                    canonical_json(child, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        // Scalars have one serialization already.
        other => out.push_str(&other.to_string()),
    }
}

fn chain_hash(prev: &[u8], row: &CanonicalRow<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(row.bytes());
    h.finalize().into()
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every row from `first` to `last` links correctly (`rows` rows checked).
    Intact {
        /// Rows checked.
        rows: u64,
        /// Oldest row checked (after pruning, the oldest remaining row).
        first: Option<i64>,
        /// Newest row checked.
        last: Option<i64>,
    },
    /// The first row whose link does not hold, and why.
    Broken {
        /// The row id.
        id: i64,
        /// What does not match.
        reason: String,
    },
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    id: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    target: Option<String>,
    result: String,
    request_id: Option<String>,
    client_ip: Option<String>,
    details: Option<serde_json::Value>,
    prev_hash: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
}

/// Walks the chain from the oldest remaining row (pruning removes a prefix, so the oldest row's
/// `prev_hash` is taken as given) and names the first row whose link does not hold. Rows written
/// before the chain existed (no hash) are skipped while they precede the first chained row.
pub async fn verify(pool: &sqlx::PgPool) -> Result<Verification, sqlx::Error> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query_as::<_, ChainRow>(
        "select id, at, actor, action, target, result, request_id, client_ip, details, prev_hash, hash
         from audit_log order by id",
    )
    .fetch(pool);
    let mut expected_prev: Option<Vec<u8>> = None;
    let (mut count, mut first, mut last) = (0u64, None, None);
    while let Some(r) = rows.try_next().await? {
        let (Some(prev), Some(hash)) = (&r.prev_hash, &r.hash) else {
            if expected_prev.is_none() {
                continue;
            }
            return Ok(Verification::Broken {
                id: r.id,
                reason: "the row has no hash".into(),
            });
        };
        if let Some(exp) = &expected_prev
            && exp != prev
        {
            return Ok(Verification::Broken {
                id: r.id,
                reason: "prev_hash does not match the previous row's hash (a row before it was removed or altered)".into(),
            });
        }
        let row = CanonicalRow {
            id: r.id,
            at: r.at,
            actor: &r.actor,
            action: &r.action,
            target: r.target.as_deref(),
            result: &r.result,
            request_id: r.request_id.as_deref(),
            client_ip: r.client_ip.as_deref(),
            details: r.details.as_ref(),
        };
        if chain_hash(prev, &row).as_slice() != hash.as_slice() {
            return Ok(Verification::Broken {
                id: r.id,
                reason: "the row's content does not match its hash".into(),
            });
        }
        expected_prev = Some(hash.clone());
        count += 1;
        first = first.or(Some(r.id));
        last = Some(r.id);
    }
    drop(rows);
    // Removing the newest rows leaves a consistent prefix: the head remembers the last link.
    let (head_id, head_hash): (Option<i64>, Vec<u8>) =
        sqlx::query_as("select last_id, last_hash from audit_chain_head where id = 1")
            .fetch_one(pool)
            .await?;
    if let (Some(head_id), Some(exp)) = (head_id, &expected_prev)
        && (Some(head_id) != last || exp != &head_hash)
    {
        return Ok(Verification::Broken {
            id: head_id,
            reason: "the newest row recorded by the chain head is missing or differs".into(),
        });
    }
    if let (Some(head_id), None) = (head_id, &expected_prev) {
        return Ok(Verification::Broken {
            id: head_id,
            reason: "the chain head names a row that is missing".into(),
        });
    }
    Ok(Verification::Intact {
        rows: count,
        first,
        last,
    })
}

/// Deletes rows older than `older_than_days` (at least 90, which the database enforces too),
/// always keeping the newest row, which the chain head names, so `verify` still holds after
/// pruning an idle log.
/// Runs as the table owner: the application's role has no DELETE privilege.
pub async fn prune(pool: &sqlx::PgPool, older_than_days: u32) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local sdmd.audit_prune = 'on'")
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(
        "delete from audit_log where at < now() - make_interval(days => $1)
         and id is distinct from (select last_id from audit_chain_head where id = 1)",
    )
    .bind(i32::try_from(older_than_days).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Rows for the CSV export, oldest first within the filter (same filters as [`list`]).
pub async fn list_all(pool: &sqlx::PgPool, f: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
    let mut f = f.clone();
    f.limit = f.limit.clamp(1, 100_000);
    let mut rows = list(pool, &f).await?;
    rows.reverse();
    Ok(rows)
}

/// Filters for listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only rows with id below this (cursor).
    pub before: Option<i64>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Action, exact or prefix with a trailing `*` (e.g. `service.*`).
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    /// Rows at or after.
    pub since: Option<DateTime<Utc>>,
    /// Rows before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
}

/// Lists rows newest first.
pub async fn list(pool: &sqlx::PgPool, f: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
    let action_pattern = f.action.as_ref().map(|a| match a.strip_suffix('*') {
        Some(prefix) => format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_")),
        None => a.replace('%', "\\%").replace('_', "\\_"),
    });
    sqlx::query_as::<_, Entry>(
        "select id, at, actor, action, target, result, request_id, client_ip, details, encode(hash, 'hex') as hash
         from audit_log
         where ($1::bigint is null or id < $1)
           and ($2::text is null or actor = $2)
           and ($3::text is null or action like $3)
           and ($4::text is null or target = $4)
           and ($5::timestamptz is null or at >= $5)
           and ($6::timestamptz is null or at < $6)
         order by id desc
         limit $7",
    )
    .bind(f.before)
    .bind(&f.actor)
    .bind(action_pattern)
    .bind(&f.target)
    .bind(f.since)
    .bind(f.until)
    .bind(f.limit)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn canon(v: serde_json::Value) -> String {
        let mut s = String::new();
        canonical_json(&v, &mut s);
        s
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = serde_json::json!({"b": 1, "a": {"z": [1, {"y": null, "x": "é"}], "c": true}});
        assert_eq!(
            canon(a),
            r#"{"a":{"c":true,"z":[1,{"x":"é","y":null}]},"b":1}"#
        );
        // Insertion order does not matter (jsonb returns keys in its own order).
        let mut m = serde_json::Map::new();
        m.insert("k2".into(), 2.into());
        m.insert("k1".into(), 1.into());
        assert_eq!(canon(serde_json::Value::Object(m)), r#"{"k1":1,"k2":2}"#);
    }

    #[test]
    fn each_field_changes_the_link() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T12:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = serde_json::json!({"x": 1});
        let base = CanonicalRow {
            id: 7,
            at,
            actor: "a",
            action: "b",
            target: Some("c"),
            result: "ok",
            request_id: None,
            client_ip: Some("127.0.0.1"),
            details: Some(&d),
        };
        let h = chain_hash(&[0; 32], &base);
        assert_ne!(h, chain_hash(&[1; 32], &base), "prev hash");
        assert_ne!(
            h,
            chain_hash(&[0; 32], &CanonicalRow { id: 8, ..base }),
            "id"
        );
        assert_ne!(
            h,
            chain_hash(
                &[0; 32],
                &CanonicalRow {
                    target: None,
                    ..base
                }
            ),
            "target"
        );
        assert_ne!(
            h,
            chain_hash(
                &[0; 32],
                &CanonicalRow {
                    request_id: Some(""),
                    ..base
                }
            ),
            "null vs empty"
        );
        assert_eq!(
            h,
            chain_hash(&[0; 32], &CanonicalRow { ..base }),
            "deterministic"
        );
    }
}
