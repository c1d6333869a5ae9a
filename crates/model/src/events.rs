//! The in-process event bus behind `GET /api/v1/events`: status changes, pull progress,
//! operation progress and audit entries, fanned out to every SSE subscriber.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::audit::{Action, Entry};
use crate::container::{ContainerState, Health, PullProgress};

/// What an [`Event::Operation`] reports on, sent as its one spelling: an audited operation as a
/// whole by its audit action (`service.deploy`, `service.start`, …), a step inside one by what
/// is running (`deploy`, `update`, `post_start`, `pre_stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Operation {
    /// An audited operation (started, finished, failed).
    Audited(Action),
    /// A step inside an operation.
    Step(OperationStep),
}

impl Operation {
    /// The one spelling (as sent).
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Audited(a) => a.as_str(),
            Operation::Step(s) => s.as_str(),
        }
    }
}

crate::text_enum! {
    /// What a step of an operation is part of.
    pub enum OperationStep ("operation step") {
        /// A deploy (pulling, creating, a member failing or skipped).
        Deploy = "deploy",
        /// An update.
        Update = "update",
        /// A member's `post_start` hooks.
        PostStart = "post_start",
        /// A member's `pre_stop` hooks.
        PreStop = "pre_stop",
    }
}

crate::text_enum! {
    /// Where an operation is.
    pub enum Phase ("operation phase") {
        /// It began.
        Started = "started",
        /// One step of it.
        Step = "step",
        /// It ended well.
        Finished = "finished",
        /// It ended with an error.
        Failed = "failed",
    }
}

/// One event as sent to subscribers (`type` names the variant).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A container changed state or health (or disappeared: `state` is `null`).
    ContainerStatus {
        /// The service it belongs to.
        service: String,
        /// Container id.
        container_id: String,
        /// Container name.
        container: String,
        /// New state; absent when the container was removed.
        state: Option<ContainerState>,
        /// New health.
        health: Option<Health>,
    },
    /// A line of an image pull's progress.
    PullProgress {
        /// The service being pulled.
        service: String,
        /// The image reference.
        image: String,
        /// Docker's progress line.
        progress: PullProgress,
    },
    /// A step of a longer operation (deploy, update, …).
    Operation {
        /// The service.
        service: String,
        /// The operation (`service.deploy`, `deploy`, `update`, …).
        action: Operation,
        /// `started`, `step`, `finished` or `failed`.
        phase: Phase,
        /// Human text for the step.
        message: String,
    },
    /// An audit entry was written.
    Audit {
        /// The entry.
        entry: Entry,
    },
}

impl Event {
    /// The SSE event name.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ContainerStatus { .. } => "container_status",
            Event::PullProgress { .. } => "pull_progress",
            Event::Operation { .. } => "operation",
            Event::Audit { .. } => "audit",
        }
    }
}

/// A cheap, cloneable broadcast sender. Publishing never blocks and never fails: a slow
/// subscriber misses events (and is told so) instead of slowing SDMD down.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    /// How many audit entries were published (each follows a committed change).
    audits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
            audits: std::sync::Arc::default(),
        }
    }
}

impl EventBus {
    /// Sends to all current subscribers (none is fine).
    pub fn publish(&self, e: Event) {
        if matches!(e, Event::Audit { .. }) {
            self.audits
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        // An error only means nobody is listening right now.
        if self.tx.send(e).is_err() {
            tracing::trace!("event published with no subscribers");
        }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// How many audit entries this process published so far: it moves after every change this
    /// process committed, before the request that made it is answered (caches of stored state
    /// compare it).
    pub fn audits(&self) -> u64 {
        self.audits.load(std::sync::atomic::Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_enum::assert_round_trips;

    #[test]
    fn operation_events_keep_their_spellings() {
        assert_round_trips(OperationStep::ALL);
        assert_round_trips(Phase::ALL);
        // An audited operation is sent as its audit action, a step by its own spelling.
        for (op, text) in [
            (Operation::Audited(Action::ServiceDeploy), "service.deploy"),
            (Operation::Step(OperationStep::Deploy), "deploy"),
            (Operation::Step(OperationStep::Update), "update"),
            (Operation::Step(OperationStep::PreStop), "pre_stop"),
        ] {
            assert_eq!(op.as_str(), text);
            assert_eq!(
                serde_json::to_value(op).unwrap_or_default(),
                serde_json::json!(text)
            );
            assert_eq!(
                serde_json::from_value::<Operation>(text.into()).ok(),
                Some(op)
            );
        }
        let e = Event::Operation {
            service: "web".into(),
            action: Operation::Audited(Action::ServiceDeploy),
            phase: Phase::Started,
            message: String::new(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap_or_default(),
            serde_json::json!({"type": "operation", "service": "web", "action": "service.deploy",
                               "phase": "started", "message": ""})
        );
        let phases: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(phases, ["started", "step", "finished", "failed"]);
        assert!("done".parse::<Phase>().is_err());
        assert!("service.deploy".parse::<OperationStep>().is_err());
        assert!(serde_json::from_value::<Operation>("redeploy".into()).is_err());
    }
}
