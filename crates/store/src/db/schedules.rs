//! Stored schedules and run claims.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// A schedule row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    /// Service name.
    pub service: String,
    /// Whether it runs.
    pub enabled: bool,
    /// `daily` or `weekly`.
    pub frequency: String,
    /// `mon`..`sun` for weekly.
    pub weekday: Option<String>,
    /// `HH:MM`.
    pub time_of_day: String,
    /// IANA time zone.
    pub timezone: String,
    /// `update` or `check`.
    pub mode: String,
    /// Spread over this many seconds after the due time.
    pub jitter_seconds: i32,
    /// When it was last stored (due times before it never run).
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "service, enabled, frequency, weekday, time_of_day, timezone, mode, jitter_seconds, updated_at";

/// The schedule of one service.
pub async fn get(pool: &PgPool, service: &str) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from schedules where service = $1"
    )))
    .bind(service)
    .fetch_optional(pool)
    .await
}

/// Every schedule.
pub async fn all(pool: &PgPool) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from schedules order by service"
    )))
    .fetch_all(pool)
    .await
}

/// Stores a schedule (insert or replace).
pub async fn put(conn: &mut PgConnection, r: &Row) -> Result<Row, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into schedules (service, enabled, frequency, weekday, time_of_day, timezone, mode, jitter_seconds)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (service) do update set enabled = excluded.enabled, frequency = excluded.frequency,
           weekday = excluded.weekday, time_of_day = excluded.time_of_day, timezone = excluded.timezone,
           mode = excluded.mode, jitter_seconds = excluded.jitter_seconds, updated_at = now()
         returning {COLUMNS}"
    )))
    .bind(&r.service)
    .bind(r.enabled)
    .bind(&r.frequency)
    .bind(&r.weekday)
    .bind(&r.time_of_day)
    .bind(&r.timezone)
    .bind(&r.mode)
    .bind(r.jitter_seconds)
    .fetch_one(conn)
    .await
}

/// Claims the run of `service` due at `due`; `true` only for the one replica that got it.
pub async fn claim(
    pool: &PgPool,
    service: &str,
    due: DateTime<Utc>,
    replica: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "insert into schedule_claims (service, due_at, claimed_by) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(service)
    .bind(due)
    .bind(replica)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}
