//! Update history and the latest registry check per image.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sdmd_model::text_enum::UnknownValue;
use sdmd_model::updates::{PendingUpdate, RunKind, RunResult, SemverDiff, Trigger, UpdateKind};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};

use super::text_column;

/// One check or update run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id.
    pub id: i64,
    /// Service name.
    pub service: String,
    /// `check` or `update`.
    pub kind: RunKind,
    /// `manual` or `schedule`.
    pub trigger: Trigger,
    /// Who started it.
    pub actor: String,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time (absent while running).
    pub finished_at: Option<DateTime<Utc>>,
    /// `up_to_date`, `update_available`, `updated`, `rolled_back`, `failed`.
    pub result: Option<RunResult>,
    /// Steps with times: `[{step, at, ok, message}]`.
    pub steps: serde_json::Value,
    /// Per image: `[{image, old_digest, new_digest, ...}]`.
    pub images: serde_json::Value,
    /// Why it failed or rolled back.
    pub reason: Option<String>,
    /// Last log lines of a container that failed its health gate.
    pub log_excerpt: Option<String>,
}

impl<'r> sqlx::FromRow<'r, PgRow> for Run {
    /// Decodes a stored run; a kind, trigger or result this build does not know is an error.
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            service: row.try_get("service")?,
            kind: text_column("kind", row.try_get("kind")?)?,
            trigger: text_column("trigger", row.try_get("trigger")?)?,
            actor: row.try_get("actor")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            result: row
                .try_get::<Option<&str>, _>("result")?
                .map(|r| text_column("result", r))
                .transpose()?,
            steps: row.try_get("steps")?,
            images: row.try_get("images")?,
            reason: row.try_get("reason")?,
            log_excerpt: row.try_get("log_excerpt")?,
        })
    }
}

/// Opens a run; returns its id.
pub async fn start(
    pool: &PgPool,
    service: &str,
    kind: RunKind,
    trigger: Trigger,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("insert into update_runs (service, kind, trigger, actor) values ($1, $2, $3, $4) returning id")
        .bind(service)
        .bind(kind.as_str())
        .bind(trigger.as_str())
        .bind(actor)
        .fetch_one(pool)
        .await
}

/// The final state of a run.
#[derive(Debug, Clone)]
pub struct Finish {
    /// Outcome.
    pub result: RunResult,
    /// Steps.
    pub steps: serde_json::Value,
    /// Images.
    pub images: serde_json::Value,
    /// Reason.
    pub reason: Option<String>,
    /// Log excerpt.
    pub log_excerpt: Option<String>,
}

/// Closes a run.
pub async fn finish(pool: &PgPool, id: i64, f: &Finish) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update update_runs set finished_at = now(), result = $2, steps = $3, images = $4, reason = $5, log_excerpt = $6
         where id = $1",
    )
    .bind(id)
    .bind(f.result.as_str())
    .bind(&f.steps)
    .bind(&f.images)
    .bind(&f.reason)
    .bind(&f.log_excerpt)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Runs of a service, newest first.
pub async fn list(pool: &PgPool, service: &str, limit: i64) -> Result<Vec<Run>, sqlx::Error> {
    sqlx::query_as(
        "select id, service, kind, trigger, actor, started_at, finished_at, result, steps, images, reason, log_excerpt
         from update_runs where service = $1 order by id desc limit $2",
    )
    .bind(service)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Records the latest check of one image of a service.
pub async fn record_check(
    pool: &PgPool,
    service: &str,
    check: &sdmd_model::updates::ImageCheck,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into image_checks (service, image, local_digest, remote_digest, update_available, error,
           kind, target, semver_diff)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (service, image) do update set checked_at = now(), local_digest = excluded.local_digest,
           remote_digest = excluded.remote_digest, update_available = excluded.update_available,
           error = excluded.error, kind = excluded.kind, target = excluded.target,
           semver_diff = excluded.semver_diff",
    )
    .bind(service)
    .bind(&check.image)
    .bind(&check.local_digest)
    .bind(&check.remote_digest)
    .bind(check.update_available)
    .bind(&check.error)
    .bind(check.kind.map(UpdateKind::as_str))
    .bind(&check.target)
    .bind(check.semver_diff.map(SemverDiff::as_str))
    .execute(pool)
    .await
    .map(|_| ())
}

/// service, image, kind, target, semver_diff.
type PendingRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The update a service's latest checks found (a tag move first), per service.
pub async fn pending(pool: &PgPool) -> Result<HashMap<String, PendingUpdate>, sqlx::Error> {
    let rows: Vec<PendingRow> = sqlx::query_as(
        "select distinct on (service) service, image, kind, target, semver_diff
             from image_checks where update_available
             order by service, (kind = 'tag') desc, image",
    )
    .fetch_all(pool)
    .await?;
    let decode = |e: UnknownValue| sqlx::Error::Decode(Box::new(e));
    rows.into_iter()
        .map(|(service, image, kind, target, semver_diff)| {
            // Rows from before the `kind` column (null) are digest updates; an unknown text is
            // an error, never a default.
            let kind = match kind {
                Some(k) => k.parse().map_err(decode)?,
                None => UpdateKind::Digest,
            };
            let semver_diff = semver_diff
                .map(|d| d.parse::<SemverDiff>())
                .transpose()
                .map_err(decode)?;
            Ok((
                service,
                PendingUpdate {
                    image,
                    kind,
                    target,
                    semver_diff,
                },
            ))
        })
        .collect()
}

/// Per service: whether its latest checks found an update, and when it was last updated.
pub async fn summaries(
    pool: &PgPool,
) -> Result<HashMap<String, (bool, Option<DateTime<Utc>>)>, sqlx::Error> {
    let rows: Vec<(String, bool, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select s.name,
                coalesce((select bool_or(c.update_available) from image_checks c where c.service = s.name), false),
                (select max(r.finished_at) from update_runs r where r.service = s.name and r.result = 'updated')
         from services s",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(n, a, u)| (n, (a, u))).collect())
}

/// Forgets the checks of a service (after it was deleted or updated).
pub async fn clear_checks(pool: &PgPool, service: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from image_checks where service = $1")
        .bind(service)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Takes the cross-replica update lock of a service on this connection (waits for it).
pub async fn lock_service(conn: &mut sqlx::PgConnection, service: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_lock(hashtextextended('sdmd.update:' || $1, 0))")
        .bind(service)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Releases the lock taken by [`lock_service`].
pub async fn unlock_service(
    conn: &mut sqlx::PgConnection,
    service: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_unlock(hashtextextended('sdmd.update:' || $1, 0))")
        .bind(service)
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_run_words_decode_and_unknown_ones_are_errors() {
        for k in RunKind::ALL {
            assert_eq!(text_column::<RunKind>("kind", k.as_str()).ok(), Some(*k));
        }
        for t in Trigger::ALL {
            assert_eq!(text_column::<Trigger>("trigger", t.as_str()).ok(), Some(*t));
        }
        for r in RunResult::ALL {
            assert_eq!(
                text_column::<RunResult>("result", r.as_str()).ok(),
                Some(*r)
            );
        }
        assert!(matches!(
            text_column::<Trigger>("trigger", "webhook"),
            Err(sqlx::Error::ColumnDecode { index, .. }) if index == "trigger"
        ));
        assert!(text_column::<RunResult>("result", "skipped").is_err());
    }
}
