//! Shapes of `/api/v1/services`: a service, what an operation did, logs, files, schedules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::docker::{ContainerInfo, ContainerState, LogLine};
use crate::live::{Kind, Status};
use crate::ops;
use crate::spec::{Definition, Problem};
use crate::timetable::ScheduleInput;
use crate::timetable::{Frequency, ScheduleMode, Weekday};
use sdmd_model::updates::PendingUpdate;

/// A service as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    /// The service's address in the API: the name of a managed service, `compose:<project>`
    /// or `container:<name>` for an unmanaged one (unique in the list, even when names repeat).
    pub id: String,
    /// Service name.
    pub name: String,
    /// managed, compose or standalone.
    pub kind: Kind,
    /// Overall status.
    pub status: Status,
    /// Current revision (managed only).
    pub revision: Option<i32>,
    /// Whether any container exists.
    pub deployed: bool,
    /// How many containers it has.
    pub containers_total: usize,
    /// How many of them run.
    pub containers_running: usize,
    /// Its containers.
    pub containers: Vec<ContainerInfo>,
    /// The stored definition (managed only; omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
    /// When the definition was first stored.
    pub created_at: Option<DateTime<Utc>>,
    /// When the last revision was stored.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the latest registry check found a newer image (managed only).
    pub update_available: bool,
    /// What the latest check found, when it found something (a tag move before a digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_update: Option<PendingUpdate>,
    /// When the service was last updated successfully.
    pub last_updated: Option<DateTime<Utc>>,
    /// Its update schedule, when one is stored (managed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// What compose would warn about in the stored document (e.g. a variable that is not set
    /// and has no default becomes empty); only in answers to a store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
    /// Settings of the adopted containers that the definition does not carry, so the first
    /// deploy will not reproduce them; only in the answer to an adopt with `accept_loss=true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<LostSetting>,
}

impl From<ops::ServiceView> for ServiceView {
    fn from(v: ops::ServiceView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            kind: v.kind,
            status: v.status,
            revision: v.revision,
            deployed: v.deployed,
            containers_total: v.containers_total,
            containers_running: v.containers_running,
            containers: v.containers,
            definition: v.definition,
            created_at: v.created_at,
            updated_at: v.updated_at,
            update_available: v.update_available,
            pending_update: v.pending_update,
            last_updated: v.last_updated,
            schedule: v.schedule.map(Into::into),
            warnings: v.warnings,
            dropped: v.dropped.into_iter().map(Into::into).collect(),
        }
    }
}

/// A setting of an existing container that a definition cannot express: a deploy of the
/// adopted definition would not reproduce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LostSetting {
    /// The container that has it.
    pub container: String,
    /// Where `docker inspect` shows it (`HostConfig.BlkioWeight`, `Mounts[/data]`, …).
    pub field: String,
    /// Its value, as inspect shows it.
    pub value: String,
    /// Why a definition cannot express it.
    pub message: String,
}

impl From<crate::docker::LostSetting> for LostSetting {
    fn from(l: crate::docker::LostSetting) -> Self {
        Self {
            container: l.container,
            field: l.field,
            value: l.value,
            message: l.message,
        }
    }
}

/// What a removal did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoveReport {
    /// Containers removed.
    pub containers: Vec<String>,
    /// Volumes removed.
    pub volumes: Vec<String>,
}

impl From<ops::RemoveReport> for RemoveReport {
    fn from(r: ops::RemoveReport) -> Self {
        Self {
            containers: r.containers,
            volumes: r.volumes,
        }
    }
}

/// What a deploy (or start/stop/restart/update) did per member.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ActionReport {
    /// Members created for the first time.
    pub created: Vec<String>,
    /// Members recreated because their configuration or image changed.
    pub recreated: Vec<String>,
    /// Members started.
    pub started: Vec<String>,
    /// Members stopped.
    pub stopped: Vec<String>,
    /// Members left as they were.
    pub unchanged: Vec<String>,
    /// Containers removed (members no longer defined, replaced adopted containers).
    pub removed: Vec<String>,
    /// Deploys: writable bind sources under the data root or a shared root owned by another
    /// user than the member runs as (`POST …/permissions` fixes them).
    pub warnings: Vec<super::permissions::OwnerWarning>,
}

impl From<ops::ActionReport> for ActionReport {
    fn from(r: ops::ActionReport) -> Self {
        Self {
            created: r.created,
            recreated: r.recreated,
            started: r.started,
            stopped: r.stopped,
            unchanged: r.unchanged,
            removed: r.removed,
            warnings: r.warnings.into_iter().map(Into::into).collect(),
        }
    }
}

/// The outcome of pulling one image.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImageChange {
    /// The image reference.
    pub image: String,
    /// Local image id before the pull.
    pub old_id: Option<String>,
    /// Local image id after the pull.
    pub new_id: Option<String>,
    /// Registry digest before.
    pub old_digest: Option<String>,
    /// Registry digest after.
    pub new_digest: Option<String>,
    /// Whether the tag now points at a different image.
    pub changed: bool,
}

impl From<ops::ImageChange> for ImageChange {
    fn from(c: ops::ImageChange) -> Self {
        Self {
            image: c.image,
            old_id: c.old_id,
            new_id: c.new_id,
            old_digest: c.old_digest,
            new_digest: c.new_digest,
            changed: c.changed,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PullReport {
    /// One entry per distinct image of the service.
    pub images: Vec<ImageChange>,
}

impl From<ops::PullReport> for PullReport {
    fn from(r: ops::PullReport) -> Self {
        Self {
            images: r.images.into_iter().map(Into::into).collect(),
        }
    }
}

/// The log lines of one container.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContainerLogs {
    /// Container name.
    pub container: String,
    /// Member name.
    pub member: String,
    /// Container state when read.
    pub state: ContainerState,
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
}

impl From<ops::ContainerLogs> for ContainerLogs {
    fn from(l: ops::ContainerLogs) -> Self {
        Self {
            container: l.container,
            member: l.member,
            state: l.state,
            lines: l.lines,
        }
    }
}

/// A project file's content as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileContent {
    /// Path relative to the project directory.
    pub path: String,
    /// Whether the file is sealed at rest.
    pub sealed: bool,
    /// Whether `content` has its values masked (a sealed file not explicitly revealed).
    pub masked: bool,
    /// The text (masked: `KEY=********` per line for env files, `********` otherwise).
    pub content: String,
}

impl From<ops::FileContent> for FileContent {
    fn from(f: ops::FileContent) -> Self {
        Self {
            path: f.path,
            sealed: f.sealed,
            masked: f.masked,
            content: f.content,
        }
    }
}

/// A service's schedule as the API shows it (and, as [`ScheduleInput`], accepts it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
// What the document says of a request body: no field beyond these (ScheduleInput refuses them).
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Whether it runs.
    pub enabled: bool,
    /// `daily` or `weekly`.
    pub frequency: Frequency,
    /// `mon`..`sun`; required for weekly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    /// Time of day, `HH:MM` (24 h).
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: String,
    /// IANA time zone, e.g. `Europe/Berlin` (the document lists every name SDMD knows).
    pub timezone: String,
    /// `update` (check, then update when something changed) or `check` (report only).
    pub mode: ScheduleMode,
    /// Start up to this many seconds after the due time (spreads load across services).
    /// Optional in a request (0 when absent).
    #[schema(maximum = 3600, required = false)]
    pub jitter_seconds: u32,
    /// The next time it will run (read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<DateTime<Utc>>,
}

impl From<crate::timetable::Schedule> for Schedule {
    fn from(s: crate::timetable::Schedule) -> Self {
        Self {
            enabled: s.enabled,
            frequency: s.frequency,
            weekday: s.weekday,
            time: s.time,
            timezone: s.timezone,
            mode: s.mode,
            jitter_seconds: s.jitter_seconds,
            next_run: s.next_run,
        }
    }
}

/// The body of `PUT …/schedule` as it is decoded: the fields of [`Schedule`] as text, so that
/// the core's validation ([`ScheduleInput::validate`]) reports every problem at once with its
/// field (an unknown frequency, weekday or mode is such a problem, never a default). The
/// document describes it as [`Schedule`] (no field beyond those; `next_run` is read-only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    enabled: bool,
    frequency: String,
    #[serde(default)]
    weekday: Option<String>,
    time: String,
    timezone: String,
    mode: String,
    #[serde(default, deserialize_with = "whole_number")]
    jitter_seconds: u32,
}

/// A `u32` also when written with a zero fraction (`2431.0`): JSON Schema's `integer` admits
/// it, so the document's clients may send it.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => u32::try_from(u).ok(),
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            Some(f as u32)
        }
        _ => None,
    };
    whole.ok_or_else(|| {
        D::Error::custom(format!(
            "{n} is not a whole number of seconds (0 to {})",
            u32::MAX
        ))
    })
}

impl From<ScheduleBody> for ScheduleInput {
    fn from(b: ScheduleBody) -> Self {
        Self {
            enabled: b.enabled,
            frequency: b.frequency,
            weekday: b.weekday,
            time: b.time,
            timezone: b.timezone,
            mode: b.mode,
            jitter_seconds: b.jitter_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ScheduleBody;

    #[test]
    fn a_schedule_body_admits_no_field_beyond_its_own() {
        // The read-only `next_run` is not accepted, nor is any other field.
        let sent = serde_json::json!({"enabled": true, "frequency": "daily", "time": "03:00",
            "timezone": "UTC", "mode": "check", "next_run": "2026-01-01T00:00:00Z"});
        assert!(serde_json::from_value::<ScheduleBody>(sent).is_err());
        let sent = serde_json::json!({"enabled": true, "frequency": "daily", "time": "03:00",
            "timezone": "UTC", "mode": "check"});
        let body = serde_json::from_value::<ScheduleBody>(sent).expect("decodes");
        assert_eq!((body.jitter_seconds, body.weekday), (0, None));
    }
}
