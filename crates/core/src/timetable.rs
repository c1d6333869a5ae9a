//! A service's update schedule: what the API accepts (validated), and the plan it turns into —
//! DST-correct due instants with a per-service jitter. No I/O: the runner is the `schedule` module.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::schedules::Row;
use crate::spec::Problem;

/// A service's schedule as the API shows and accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Whether it runs.
    pub enabled: bool,
    /// `daily` or `weekly`.
    #[schema(pattern = "^(daily|weekly)$")]
    pub frequency: String,
    /// `mon`..`sun`; required for weekly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(mon|tue|wed|thu|fri|sat|sun)$")]
    pub weekday: Option<String>,
    /// Time of day, `HH:MM` (24 h).
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: String,
    /// IANA time zone, e.g. `Europe/Berlin` (the document lists every name SDMD knows).
    pub timezone: String,
    /// `update` (check, then update when something changed) or `check` (report only).
    #[schema(pattern = "^(update|check)$")]
    pub mode: String,
    /// Start up to this many seconds after the due time (spreads load across services).
    #[serde(default)]
    #[schema(maximum = 3600)]
    pub jitter_seconds: u32,
    /// The next time it will run (read-only).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<DateTime<Utc>>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            enabled: false,
            frequency: "daily".into(),
            weekday: None,
            time: "03:00".into(),
            timezone: "UTC".into(),
            mode: "update".into(),
            jitter_seconds: 0,
            next_run: None,
        }
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// A validated schedule, ready for date arithmetic.
#[derive(Debug, Clone)]
pub struct Plan {
    weekly: Option<Weekday>,
    time: NaiveTime,
    tz: Tz,
    jitter: u32,
    key: String,
}

impl Schedule {
    /// Validates every field; all problems at once, with field paths.
    pub fn validate(&self, service: &str) -> std::result::Result<Plan, Vec<Problem>> {
        let mut p = Vec::new();
        let mut err = |field: &str, message: String| {
            p.push(Problem {
                field: field.into(),
                message,
            })
        };
        let weekly = match self.frequency.as_str() {
            "daily" => None,
            "weekly" => match self.weekday.as_deref().map(weekday) {
                Some(Some(d)) => Some(d),
                Some(None) => {
                    err("weekday", "use mon, tue, wed, thu, fri, sat or sun".into());
                    None
                }
                None => {
                    err("weekday", "is required for a weekly schedule".into());
                    None
                }
            },
            other => {
                err(
                    "frequency",
                    format!("`{other}` is not a frequency: use daily or weekly"),
                );
                None
            }
        };
        if self.frequency == "daily"
            && self
                .weekday
                .as_deref()
                .is_some_and(|w| weekday(w).is_none())
        {
            err("weekday", "use mon, tue, wed, thu, fri, sat or sun".into());
        }
        let time = match (
            self.time.len(),
            NaiveTime::parse_from_str(&self.time, "%H:%M"),
        ) {
            (5, Ok(t)) => Some(t),
            _ => {
                err(
                    "time",
                    format!(
                        "`{}` is not a time of day: use HH:MM (00:00-23:59)",
                        self.time
                    ),
                );
                None
            }
        };
        let tz = match self.timezone.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                err(
                    "timezone",
                    format!(
                        "`{}` is not an IANA time zone (e.g. Europe/Berlin)",
                        self.timezone
                    ),
                );
                None
            }
        };
        if !matches!(self.mode.as_str(), "update" | "check") {
            err(
                "mode",
                format!("`{}` is not a mode: use update or check", self.mode),
            );
        }
        if self.jitter_seconds > 3600 {
            err("jitter_seconds", "must be at most 3600".into());
        }
        match (time, tz) {
            (Some(time), Some(tz)) if p.is_empty() => Ok(Plan {
                weekly,
                time,
                tz,
                jitter: self.jitter_seconds,
                key: service.to_owned(),
            }),
            _ => Err(p),
        }
    }

    /// The API shape of a stored row.
    pub fn from_row(r: &Row) -> Self {
        Self {
            enabled: r.enabled,
            frequency: r.frequency.clone(),
            weekday: r.weekday.clone(),
            time: r.time_of_day.clone(),
            timezone: r.timezone.clone(),
            mode: r.mode.clone(),
            jitter_seconds: u32::try_from(r.jitter_seconds).unwrap_or(0),
            next_run: None,
        }
    }
}

impl Plan {
    /// The instant the schedule is due on a local date, DST-correct: a time that does not exist
    /// (spring forward) runs at the first instant after the gap; a time that exists twice (fall
    /// back) runs at the first of the two.
    fn due_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        if self.weekly.is_some_and(|w| date.weekday() != w) {
            return None;
        }
        let local = date.and_time(self.time);
        let at = match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t,
            LocalResult::Ambiguous(first, _) => first,
            LocalResult::None => {
                // Walk forward minute by minute to the end of the gap (gaps are at most a few hours).
                (1..=180).find_map(|m| {
                    self.tz
                        .from_local_datetime(&(local + chrono::Duration::minutes(m)))
                        .earliest()
                })?
            }
        };
        Some(at.with_timezone(&Utc) + chrono::Duration::seconds(i64::from(self.jitter_for(date))))
    }

    /// A stable pseudo-random offset per service and day, so replicas agree on it.
    fn jitter_for(&self, date: NaiveDate) -> u32 {
        if self.jitter == 0 {
            return 0;
        }
        let h = Sha256::digest(format!("{}:{date}", self.key).as_bytes());
        u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % (self.jitter + 1)
    }

    /// The most recent due instant at or before `now`.
    pub fn last_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&self.tz).date_naive();
        (0..9)
            .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
            .filter_map(|d| self.due_on(d))
            .find(|t| *t <= now)
    }

    /// The first due instant after `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&self.tz).date_naive();
        (0..9)
            .filter_map(|fwd| today.checked_add_days(chrono::Days::new(fwd)))
            .filter_map(|d| self.due_on(d))
            .find(|t| *t > now)
    }
}
