//! Per-service update schedules: daily or weekly at a time of day in a time zone, DST-correct,
//! with optional jitter. Each replica ticks; a claim row keyed by (service, due time) makes a due
//! run happen exactly once across replicas. Only the most recent due time is considered, so a run
//! missed while SDMD was down happens once at start (within the grace window), never as a burst.
//! tokio-cron-scheduler drives it ([`run`]): a cron sweep plus one-shot jobs at due instants.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sdmd_model::audit::Action;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::{self, schedules::Row};
use crate::error::{Error, Result};
use crate::spec::Problem;
use crate::state::AppState;
pub use crate::timetable::{Frequency, Plan, Schedule, ScheduleInput, ScheduleMode, Weekday};
use crate::updates::Trigger;

/// How late a missed run may still start.
pub const GRACE: Duration = Duration::from_secs(3600);

fn invalid(problems: Vec<Problem>) -> Error {
    Error::Invalid(problems)
}

/// The schedule of a managed service (a disabled default when none is stored).
pub async fn get(state: &AppState, name: &str) -> Result<Schedule> {
    crate::ops::load(state, name).await?;
    let mut s = db::schedules::get(&state.db, name)
        .await?
        .map(|r| Schedule::from_row(&r))
        .unwrap_or_default();
    if s.enabled
        && let Ok(plan) = s.validate(name)
    {
        s.next_run = plan.next_due(Utc::now());
    }
    Ok(s)
}

/// Stores a service's schedule (validated; audited in the same transaction).
pub async fn put(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    input: ScheduleInput,
) -> Result<Schedule> {
    let (s, plan) = input.validate(name).map_err(invalid)?;
    crate::ops::load(state, name).await?;
    let row = Row {
        service: name.to_owned(),
        enabled: s.enabled,
        frequency: s.frequency,
        weekday: s.weekday,
        time_of_day: s.time.clone(),
        timezone: s.timezone.clone(),
        mode: s.mode,
        jitter_seconds: i32::try_from(s.jitter_seconds).unwrap_or(0),
        updated_at: Utc::now(),
    };
    let mut tx = Change::begin(&state.db).await?;
    let stored = db::schedules::put(&mut tx, &row).await?;
    tx.record(
        ctx,
        Record {
            action: Action::ServiceSchedule,
            target: Some(name),
            result: "ok",
            details: serde_json::to_value(Schedule::from_row(&stored)).unwrap_or_default(),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    let mut out = Schedule::from_row(&stored);
    if out.enabled {
        out.next_run = plan.next_due(Utc::now());
    }
    Ok(out)
}

/// What one tick decided for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Service name.
    pub service: String,
    /// The due instant claimed.
    pub due: DateTime<Utc>,
    /// What the run does.
    pub mode: ScheduleMode,
}

/// One scheduler pass at `now` (injectable for tests): claims every due run this replica wins and
/// returns them. Running them is the caller's business ([`run_due`]).
pub async fn tick(state: &AppState, replica: &str, now: DateTime<Utc>) -> Result<Vec<Due>> {
    let mut won = Vec::new();
    for row in db::schedules::all(&state.db).await? {
        if !row.enabled {
            continue;
        }
        let s = Schedule::from_row(&row);
        let Ok(plan) = s.validate(&row.service) else {
            continue;
        };
        let Some(due) = plan.last_due(now) else {
            continue;
        };
        // Due times before the schedule was (re)stored never run; nor do ones past the grace window.
        let late = now - due;
        if due <= row.updated_at || late > chrono::Duration::from_std(GRACE).unwrap_or_default() {
            continue;
        }
        if db::schedules::claim(&state.db, &row.service, due, replica).await? {
            won.push(Due {
                service: row.service.clone(),
                due,
                mode: row.mode,
            });
        }
    }
    Ok(won)
}

/// Runs one claimed schedule as the `scheduler` actor.
pub async fn run_due(state: &AppState, due: &Due) {
    let ctx = AuditContext {
        actor: "scheduler".into(),
        ..AuditContext::default()
    };
    let result = match due.mode {
        ScheduleMode::Check => crate::updates::check(state, &ctx, &due.service, Trigger::Schedule)
            .await
            .map(|_| ()),
        ScheduleMode::Update => {
            crate::updates::update(state, &ctx, &due.service, Trigger::Schedule)
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = result {
        tracing::warn!(service = %due.service, error = %e, "scheduled run failed");
    }
}

/// Cron expression (with seconds) of the sweep: every 20 s on the clock.
pub const SWEEP: &str = "*/20 * * * * *";

/// How far ahead the sweep plans exact wake-ups (more than one sweep interval).
const HORIZON: chrono::Duration = chrono::Duration::seconds(45);

/// Due instants within `horizon` after `now`: when the driver wakes up exactly. Pure, so the
/// planning is tested without a clock.
pub fn wakeups(
    rows: &[Row],
    now: DateTime<Utc>,
    horizon: chrono::Duration,
) -> Vec<(String, DateTime<Utc>)> {
    rows.iter()
        .filter(|r| r.enabled)
        .filter_map(|r| {
            let plan = Schedule::from_row(r).validate(&r.service).ok()?;
            let next = plan.next_due(now)?;
            (next - now <= horizon).then(|| (r.service.clone(), next))
        })
        .collect()
}

/// Claims what is due at this moment and runs what this replica won, each on its own task.
async fn claim_and_run(state: &AppState, replica: &str) {
    match tick(state, replica, Utc::now()).await {
        Ok(due) => {
            for d in due {
                let st = state.clone();
                tokio::spawn(async move { run_due(&st, &d).await });
            }
        }
        Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
    }
}

/// The driver's state shared by its jobs.
struct Driver {
    state: AppState,
    replica: String,
    scheduler: tokio_cron_scheduler::JobScheduler,
    /// Wake-ups already planned, so a sweep does not plan one twice.
    planned: tokio::sync::Mutex<std::collections::HashSet<(String, DateTime<Utc>)>>,
}

impl Driver {
    /// The cron job's body: claim what is due (a run missed while down, a schedule another
    /// replica changed, a wake-up that came early), then plan a one-shot job at each due
    /// instant of the next [`HORIZON`] so that runs start on the second.
    async fn sweep(self: Arc<Self>) {
        claim_and_run(&self.state, &self.replica).await;
        let rows = match db::schedules::all(&self.state.db).await {
            Ok(rows) => rows,
            Err(e) => return tracing::warn!(error = %e, "reading schedules failed"),
        };
        let now = Utc::now();
        let mut planned = self.planned.lock().await;
        planned.retain(|(_, at)| *at > now - HORIZON);
        for (service, at) in wakeups(&rows, now, HORIZON) {
            if !planned.insert((service.clone(), at)) {
                continue;
            }
            // Wake just after the instant: the claim compares due <= now.
            let wait = (at - now).to_std().unwrap_or_default() + Duration::from_millis(50);
            let me = self.clone();
            let job = tokio_cron_scheduler::Job::new_one_shot_async(wait, move |_, _| {
                let me = me.clone();
                Box::pin(async move { claim_and_run(&me.state, &me.replica).await })
            });
            match job {
                Ok(job) => {
                    if let Err(e) = self.scheduler.add(job).await {
                        tracing::warn!(service = %service, error = %e, "planning a scheduled run failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(service = %service, error = %e, "planning a scheduled run failed")
                }
            }
        }
    }
}

/// Drives the schedules until shutdown with tokio-cron-scheduler: a cron job ([`SWEEP`]) claims
/// what is due and plans a one-shot job at every due instant of the next 45 s. When a run is due
/// is always decided by [`Plan`] (DST-correct, jitter, grace window) and who runs it by the
/// claim row, never by the cron library: its time-zone jobs use a fixed UTC offset taken when
/// the job is created, which would drift by an hour across a DST change.
pub async fn run(state: AppState) {
    let replica = format!("{}-{}", hostname(), std::process::id());
    let created = match tokio_cron_scheduler::JobScheduler::new().await {
        Ok(mut s) => s.init().await.map(|()| s),
        Err(e) => Err(e),
    };
    let mut scheduler = match created {
        Ok(s) => s,
        Err(e) => {
            return tracing::error!(error = %e, "cannot start the scheduler: schedules will not run");
        }
    };
    let driver = Arc::new(Driver {
        state: state.clone(),
        replica,
        scheduler: scheduler.clone(),
        planned: tokio::sync::Mutex::default(),
    });
    let sweep = {
        let driver = driver.clone();
        tokio_cron_scheduler::Job::new_async(SWEEP, move |_, _| Box::pin(driver.clone().sweep()))
    };
    let started = match sweep {
        Ok(job) => match scheduler.add(job).await {
            Ok(_) => scheduler.start().await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = started {
        return tracing::error!(error = %e, "cannot start the scheduler: schedules will not run");
    }
    // A run missed while sdmd was down starts now, not at the first sweep.
    driver.clone().sweep().await;
    state.shutdown.cancelled().await;
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(error = %e, "stopping the scheduler");
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "sdmd".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(freq: &str, weekday: Option<&str>, time: &str, tz: &str) -> Plan {
        let (s, plan) = ScheduleInput {
            enabled: true,
            frequency: freq.into(),
            weekday: weekday.map(Into::into),
            time: time.into(),
            timezone: tz.into(),
            mode: "update".into(),
            jitter_seconds: 0,
        }
        .validate("svc")
        .expect("valid");
        // The typed schedule it stores plans the same.
        let again = s.validate("svc").expect("valid");
        let now = utc("2026-06-01T00:00:00Z");
        assert_eq!(plan.next_due(now), again.next_due(now));
        plan
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn daily_in_a_time_zone() {
        let p = plan("daily", None, "03:00", "Europe/Berlin");
        // Winter: UTC+1.
        assert_eq!(
            p.last_due(utc("2026-01-15T12:00:00Z")),
            Some(utc("2026-01-15T02:00:00Z"))
        );
        assert_eq!(
            p.next_due(utc("2026-01-15T12:00:00Z")),
            Some(utc("2026-01-16T02:00:00Z"))
        );
        // Summer: UTC+2.
        assert_eq!(
            p.last_due(utc("2026-07-15T12:00:00Z")),
            Some(utc("2026-07-15T01:00:00Z"))
        );
    }

    #[test]
    fn dst_gaps_and_overlaps() {
        // 2026-03-29 02:30 does not exist in Berlin: it runs when the clock jumps (03:00 CEST).
        let p = plan("daily", None, "02:30", "Europe/Berlin");
        assert_eq!(
            p.next_due(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // 2026-10-25 02:30 exists twice: the first one (CEST, UTC+2) runs.
        assert_eq!(
            p.next_due(utc("2026-10-24T12:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            p.next_due(utc("2026-10-25T00:31:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn weekly() {
        let p = plan("weekly", Some("mon"), "04:15", "UTC");
        // 2026-11-26 is a Thursday.
        assert_eq!(
            p.last_due(utc("2026-11-26T10:00:00Z")),
            Some(utc("2026-11-23T04:15:00Z"))
        );
        assert_eq!(
            p.next_due(utc("2026-11-26T10:00:00Z")),
            Some(utc("2026-11-30T04:15:00Z"))
        );
    }

    #[test]
    fn validation_names_every_field() {
        let s = ScheduleInput {
            enabled: true,
            frequency: "weekly".into(),
            weekday: Some("funday".into()),
            time: "25:00".into(),
            timezone: "Mars/Olympus".into(),
            mode: "yolo".into(),
            jitter_seconds: 5000,
        };
        let fields: Vec<String> = s
            .validate("x")
            .expect_err("invalid")
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            ["weekday", "time", "timezone", "mode", "jitter_seconds"]
        );
        let ok = Schedule {
            time: "7:00".into(),
            ..Schedule::default()
        };
        assert!(ok.validate("x").is_err(), "HH:MM needs two digits");
    }

    #[test]
    fn unknown_frequency_weekday_or_mode_is_a_problem_of_that_field() {
        let input = |frequency: &str, weekday: Option<&str>, mode: &str| ScheduleInput {
            enabled: true,
            frequency: frequency.into(),
            weekday: weekday.map(Into::into),
            time: "03:00".into(),
            timezone: "UTC".into(),
            mode: mode.into(),
            jitter_seconds: 0,
        };
        let fields = |i: ScheduleInput| -> Vec<String> {
            i.validate("x")
                .expect_err("invalid")
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert_eq!(fields(input("hourly", None, "update")), ["frequency"]);
        assert_eq!(fields(input("daily", Some("Monday"), "check")), ["weekday"]);
        assert_eq!(fields(input("weekly", None, "check")), ["weekday"]);
        // No fallback to `update` for a mode this build does not know.
        assert_eq!(fields(input("daily", None, "upgrade")), ["mode"]);
        // What is stored is typed: a daily schedule keeps no weekday.
        let (s, _) = input("daily", Some("tue"), "check")
            .validate("x")
            .expect("valid");
        assert_eq!(
            (s.frequency, s.weekday, s.mode),
            (Frequency::Daily, None, ScheduleMode::Check)
        );
        let (s, _) = input("weekly", Some("tue"), "update")
            .validate("x")
            .expect("valid");
        assert_eq!(s.weekday, Some(Weekday::Tue));
        // The API shape keeps the stored spellings.
        assert_eq!(
            serde_json::to_value(&s).unwrap_or_default(),
            serde_json::json!({"enabled": true, "frequency": "weekly", "weekday": "tue",
                "time": "03:00", "timezone": "UTC", "mode": "update", "jitter_seconds": 0})
        );
    }

    #[test]
    fn plans_wakeups_within_the_horizon() {
        let row = |service: &str, enabled: bool, time: &str| Row {
            service: service.into(),
            enabled,
            frequency: Frequency::Daily,
            weekday: None,
            time_of_day: time.into(),
            timezone: "Europe/Berlin".into(),
            mode: ScheduleMode::Check,
            jitter_seconds: 0,
            updated_at: utc("2026-01-01T00:00:00Z"),
        };
        let rows = [
            row("soon", true, "04:15"),
            row("off", false, "04:15"),
            row("later", true, "04:16"),
            row("past", true, "04:14"),
        ];
        // 04:14:30 in Berlin (UTC+1 in November).
        let now = utc("2026-11-30T03:14:30Z");
        assert_eq!(
            wakeups(&rows, now, chrono::Duration::seconds(45)),
            [("soon".to_owned(), utc("2026-11-30T03:15:00Z"))]
        );
        assert_eq!(wakeups(&rows, now, chrono::Duration::seconds(90)).len(), 2);
        // SWEEP is a valid six-field cron expression for the driver.
        assert!(tokio_cron_scheduler::Job::new_async(SWEEP, |_, _| Box::pin(async {})).is_ok());
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let mut s = Schedule {
            enabled: true,
            jitter_seconds: 600,
            ..Schedule::default()
        };
        s.timezone = "UTC".into();
        let p = s.validate("svc").expect("valid");
        let a = p.next_due(utc("2026-11-26T10:00:00Z")).expect("due");
        let b = p.next_due(utc("2026-11-26T10:00:00Z")).expect("due");
        assert_eq!(a, b);
        let base = utc("2026-11-27T03:00:00Z");
        assert!(a >= base && a <= base + chrono::Duration::seconds(600));
    }
}
