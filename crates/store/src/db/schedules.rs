//! Stored schedules and run claims.

use chrono::{DateTime, Utc};
use sdmd_model::schedule::{Frequency, ScheduleMode, Weekday};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row as _};

use super::text_column;

/// A schedule row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Service name.
    pub service: String,
    /// Whether it runs.
    pub enabled: bool,
    /// How often it runs.
    pub frequency: Frequency,
    /// The day of a weekly schedule.
    pub weekday: Option<Weekday>,
    /// `HH:MM`.
    pub time_of_day: String,
    /// IANA time zone.
    pub timezone: String,
    /// What a due run does.
    pub mode: ScheduleMode,
    /// Spread over this many seconds after the due time.
    pub jitter_seconds: i32,
    /// When it was last stored (due times before it never run).
    pub updated_at: DateTime<Utc>,
}

impl<'r> sqlx::FromRow<'r, PgRow> for Row {
    /// Decodes a stored row; a frequency, weekday or mode this build does not know is an error.
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            service: row.try_get("service")?,
            enabled: row.try_get("enabled")?,
            frequency: text_column("frequency", row.try_get("frequency")?)?,
            weekday: row
                .try_get::<Option<&str>, _>("weekday")?
                .map(|w| text_column("weekday", w))
                .transpose()?,
            time_of_day: row.try_get("time_of_day")?,
            timezone: row.try_get("timezone")?,
            mode: text_column("mode", row.try_get("mode")?)?,
            jitter_seconds: row.try_get("jitter_seconds")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
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
    .bind(r.frequency.as_str())
    .bind(r.weekday.map(Weekday::as_str))
    .bind(&r.time_of_day)
    .bind(&r.timezone)
    .bind(r.mode.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_decode_and_unknown_ones_are_decode_errors() {
        for f in Frequency::ALL {
            assert_eq!(
                text_column::<Frequency>("frequency", f.as_str()).ok(),
                Some(*f)
            );
        }
        for d in Weekday::ALL {
            assert_eq!(text_column::<Weekday>("weekday", d.as_str()).ok(), Some(*d));
        }
        for m in ScheduleMode::ALL {
            assert_eq!(
                text_column::<ScheduleMode>("mode", m.as_str()).ok(),
                Some(*m)
            );
        }
        // A row written by a newer build (or by hand) with a value this one does not know: an
        // error naming the column, never `daily` or `update`.
        let e = text_column::<Frequency>("frequency", "hourly").unwrap_err();
        match &e {
            sqlx::Error::ColumnDecode { index, source } => {
                assert_eq!(index, "frequency");
                assert_eq!(source.to_string(), "unknown schedule frequency \"hourly\"");
            }
            other => panic!("not a column decode error: {other:?}"),
        }
        assert!(text_column::<ScheduleMode>("mode", "upgrade").is_err());
        assert!(text_column::<ScheduleMode>("mode", "").is_err());
        assert!(text_column::<Weekday>("weekday", "Monday").is_err());
    }
}
