//! A service's update schedule: what the API accepts (validated), and the plan it turns into —
//! DST-correct due instants with a per-service jitter. No I/O: the runner is the `schedule` module.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use sdmd_model::schedule::{Frequency, ScheduleMode, Weekday};

use crate::db::schedules::Row;
use crate::spec::Problem;

/// A service's schedule as the API shows it (and, as [`ScheduleInput`], accepts it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// Whether it runs.
    pub enabled: bool,
    /// `daily` or `weekly`.
    pub frequency: Frequency,
    /// `mon`..`sun`; required for weekly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    /// Time of day, `HH:MM` (24 h).
    pub time: String,
    /// IANA time zone, e.g. `Europe/Berlin` (the document lists every name SDMD knows).
    pub timezone: String,
    /// `update` (check, then update when something changed) or `check` (report only).
    pub mode: ScheduleMode,
    /// Start up to this many seconds after the due time (spreads load across services).
    /// Optional in a request (0 when absent).
    pub jitter_seconds: u32,
    /// The next time it will run (read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<DateTime<Utc>>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            enabled: false,
            frequency: Frequency::Daily,
            weekday: None,
            time: "03:00".into(),
            timezone: "UTC".into(),
            mode: ScheduleMode::Update,
            jitter_seconds: 0,
            next_run: None,
        }
    }
}

/// A schedule as a client sends it: the fields of [`Schedule`] as text, so that
/// [`ScheduleInput::validate`] reports every problem at once with its field (an unknown
/// frequency, weekday or mode is such a problem, never a default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInput {
    /// Whether it runs.
    pub enabled: bool,
    /// `daily` or `weekly`.
    pub frequency: String,
    /// `mon`..`sun`; required for weekly.
    pub weekday: Option<String>,
    /// Time of day, `HH:MM`.
    pub time: String,
    /// IANA time zone.
    pub timezone: String,
    /// `update` or `check`.
    pub mode: String,
    /// Start up to this many seconds after the due time.
    pub jitter_seconds: u32,
}

/// A validated schedule, ready for date arithmetic.
#[derive(Debug, Clone)]
pub struct Plan {
    weekly: Option<chrono::Weekday>,
    time: NaiveTime,
    tz: Tz,
    jitter: u32,
    key: String,
}

const WEEKDAYS: &str = "use mon, tue, wed, thu, fri, sat or sun";

fn problem(field: &str, message: String) -> Problem {
    Problem {
        field: field.into(),
        message,
    }
}

fn time_of_day(s: &str) -> Result<NaiveTime, Problem> {
    match (s.len(), NaiveTime::parse_from_str(s, "%H:%M")) {
        (5, Ok(t)) => Ok(t),
        _ => Err(problem(
            "time",
            format!("`{s}` is not a time of day: use HH:MM (00:00-23:59)"),
        )),
    }
}

fn time_zone(s: &str) -> Result<Tz, Problem> {
    s.parse::<Tz>().map_err(|_| {
        problem(
            "timezone",
            format!("`{s}` is not an IANA time zone (e.g. Europe/Berlin)"),
        )
    })
}

fn jitter(seconds: u32) -> Result<u32, Problem> {
    if seconds > 3600 {
        Err(problem("jitter_seconds", "must be at most 3600".into()))
    } else {
        Ok(seconds)
    }
}

/// Collects a check's problem, keeping its value when there was none.
fn keep<T>(problems: &mut Vec<Problem>, r: Result<T, Problem>) -> Option<T> {
    r.map_err(|e| problems.push(e)).ok()
}

impl ScheduleInput {
    /// Validates every field; all problems at once, with field paths. The schedule to store
    /// (a daily one keeps no weekday) and its plan.
    pub fn validate(&self, service: &str) -> std::result::Result<(Schedule, Plan), Vec<Problem>> {
        let mut p = Vec::new();
        let weekday = self.weekday.as_deref().map(str::parse::<Weekday>);
        let frequency = match self.frequency.parse::<Frequency>() {
            Ok(f) => {
                match (f, &weekday) {
                    (_, Some(Err(_))) => p.push(problem("weekday", WEEKDAYS.into())),
                    (Frequency::Weekly, None) => p.push(problem(
                        "weekday",
                        "is required for a weekly schedule".into(),
                    )),
                    _ => {}
                }
                Some(f)
            }
            Err(_) => {
                p.push(problem(
                    "frequency",
                    format!(
                        "`{}` is not a frequency: use daily or weekly",
                        self.frequency
                    ),
                ));
                None
            }
        };
        let time = keep(&mut p, time_of_day(&self.time));
        let tz = keep(&mut p, time_zone(&self.timezone));
        let mode = self.mode.parse::<ScheduleMode>().map_err(|_| {
            problem(
                "mode",
                format!("`{}` is not a mode: use update or check", self.mode),
            )
        });
        let mode = keep(&mut p, mode);
        let jitter_seconds = keep(&mut p, jitter(self.jitter_seconds));
        match (frequency, time, tz, mode, jitter_seconds) {
            (Some(frequency), Some(time), Some(tz), Some(mode), Some(jitter_seconds))
                if p.is_empty() =>
            {
                let weekday = match frequency {
                    Frequency::Weekly => weekday.and_then(Result::ok),
                    Frequency::Daily => None,
                };
                let schedule = Schedule {
                    enabled: self.enabled,
                    frequency,
                    weekday,
                    time: self.time.clone(),
                    timezone: self.timezone.clone(),
                    mode,
                    jitter_seconds,
                    next_run: None,
                };
                let plan = Plan::new(weekday, time, tz, jitter_seconds, service);
                Ok((schedule, plan))
            }
            _ => Err(p),
        }
    }
}

impl Schedule {
    /// Checks what the types do not: a weekly schedule names its day, the time of day and the
    /// time zone parse, the jitter is at most an hour. All problems at once, with field paths.
    pub fn validate(&self, service: &str) -> std::result::Result<Plan, Vec<Problem>> {
        let mut p = Vec::new();
        let weekly = match (self.frequency, self.weekday) {
            (Frequency::Daily, _) => None,
            (Frequency::Weekly, Some(d)) => Some(d),
            (Frequency::Weekly, None) => {
                p.push(problem(
                    "weekday",
                    "is required for a weekly schedule".into(),
                ));
                None
            }
        };
        let time = keep(&mut p, time_of_day(&self.time));
        let tz = keep(&mut p, time_zone(&self.timezone));
        let jitter_seconds = keep(&mut p, jitter(self.jitter_seconds));
        match (time, tz, jitter_seconds) {
            (Some(time), Some(tz), Some(j)) if p.is_empty() => {
                Ok(Plan::new(weekly, time, tz, j, service))
            }
            _ => Err(p),
        }
    }

    /// The API shape of a stored row.
    pub fn from_row(r: &Row) -> Self {
        Self {
            enabled: r.enabled,
            frequency: r.frequency,
            weekday: r.weekday,
            time: r.time_of_day.clone(),
            timezone: r.timezone.clone(),
            mode: r.mode,
            jitter_seconds: u32::try_from(r.jitter_seconds).unwrap_or(0),
            next_run: None,
        }
    }
}

impl Plan {
    fn new(weekly: Option<Weekday>, time: NaiveTime, tz: Tz, jitter: u32, service: &str) -> Self {
        Self {
            weekly: weekly.map(chrono::Weekday::from),
            time,
            tz,
            jitter,
            key: service.to_owned(),
        }
    }

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
