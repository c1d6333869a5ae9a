//! The append-only audit log. Every mutation records exactly one row through [`record`], inside
//! the same transaction as the change it describes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
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
}

/// Appends one row (call it inside the transaction of the change it records).
pub async fn record(
    conn: &mut PgConnection,
    ctx: &AuditContext,
    e: &NewEntry<'_>,
) -> Result<Entry, sqlx::Error> {
    sqlx::query_as::<_, Entry>(
        "insert into audit_log (actor, action, target, result, request_id, client_ip, details)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, at, actor, action, target, result, request_id, client_ip, details",
    )
    .bind(&ctx.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.result)
    .bind(&ctx.request_id)
    .bind(&ctx.client_ip)
    .bind(&e.details)
    .fetch_one(conn)
    .await
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
        "select id, at, actor, action, target, result, request_id, client_ip, details
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
