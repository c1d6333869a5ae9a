//! The in-process event bus behind `GET /api/v1/events`: status changes, pull progress,
//! operation progress and audit entries, fanned out to every SSE subscriber.

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::audit::Entry;
use crate::container::{ContainerState, Health, PullProgress};

crate::text_enum! {
    /// The operation an [`Event::Operation`] reports on. The audited ones are spelled as their
    /// audit action; the steps inside them by what is running.
    pub enum Operation ("operation") {
        /// A deploy as a whole (started, finished, failed).
        ServiceDeploy = "service.deploy",
        /// A start as a whole.
        ServiceStart = "service.start",
        /// A stop as a whole.
        ServiceStop = "service.stop",
        /// A restart as a whole.
        ServiceRestart = "service.restart",
        /// A pull as a whole.
        ServicePull = "service.pull",
        /// A step of a deploy (pulling, creating, a member failing or skipped).
        Deploy = "deploy",
        /// A step of an update.
        Update = "update",
        /// A member's `post_start` hooks running.
        PostStart = "post_start",
        /// A member's `pre_stop` hooks running.
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
#[derive(Debug, Clone, Serialize, ToSchema)]
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
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }
}

impl EventBus {
    /// Sends to all current subscribers (none is fine).
    pub fn publish(&self, e: Event) {
        // An error only means nobody is listening right now.
        if self.tx.send(e).is_err() {
            tracing::trace!("event published with no subscribers");
        }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_enum::assert_round_trips;

    #[test]
    fn operation_events_keep_their_spellings() {
        assert_round_trips(Operation::ALL);
        assert_round_trips(Phase::ALL);
        let e = Event::Operation {
            service: "web".into(),
            action: Operation::ServiceDeploy,
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
        assert!("service.update".parse::<Operation>().is_err());
    }
}
