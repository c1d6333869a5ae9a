//! Shapes of checks, updates and their history.

use chrono::{DateTime, Utc};
use sdmd_model::updates::{ImageCheck, RunKind, RunResult, Trigger, UpdateResult};
use serde::Serialize;
use utoipa::ToSchema;

use super::services::{ActionReport, PullReport};

/// The answer of a check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckReport {
    /// History id.
    pub run_id: i64,
    /// Whether any image has an update.
    pub update_available: bool,
    /// Per image.
    pub images: Vec<ImageCheck>,
}

impl From<crate::updates::CheckReport> for CheckReport {
    fn from(r: crate::updates::CheckReport) -> Self {
        Self {
            run_id: r.run_id,
            update_available: r.update_available,
            images: r.images,
        }
    }
}

/// One step of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Step {
    /// `check`, `pull`, `stop_old`, `start_new`, `health_gate`, `rollback`, `cleanup`.
    pub step: String,
    /// When it ended.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened.
    pub message: String,
}

impl From<crate::updates::Step> for Step {
    fn from(s: crate::updates::Step) -> Self {
        Self {
            step: s.step,
            at: s.at,
            ok: s.ok,
            message: s.message,
        }
    }
}

/// The result of an update.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpdateReport {
    /// History id.
    pub run_id: i64,
    /// `up_to_date`, `updated` or `rolled_back`.
    pub result: UpdateResult,
    /// What the pull changed.
    pub pull: PullReport,
    /// What happened to the members.
    pub members: ActionReport,
    /// Why it rolled back.
    pub reason: Option<String>,
    /// The steps with times.
    pub steps: Vec<Step>,
}

impl From<crate::updates::UpdateReport> for UpdateReport {
    fn from(r: crate::updates::UpdateReport) -> Self {
        Self {
            run_id: r.run_id,
            result: r.result,
            pull: r.pull.into(),
            members: r.members.into(),
            reason: r.reason,
            steps: r.steps.into_iter().map(Into::into).collect(),
        }
    }
}

/// One check or update run.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

impl From<crate::db::updates::Run> for Run {
    fn from(r: crate::db::updates::Run) -> Self {
        Self {
            id: r.id,
            service: r.service,
            kind: r.kind,
            trigger: r.trigger,
            actor: r.actor,
            started_at: r.started_at,
            finished_at: r.finished_at,
            result: r.result,
            steps: r.steps,
            images: r.images,
            reason: r.reason,
            log_excerpt: r.log_excerpt,
        }
    }
}
