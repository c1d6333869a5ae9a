//! The in-process event bus behind `GET /api/v1/events`: status changes, pull progress,
//! operation progress and audit entries, fanned out to every SSE subscriber.

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::audit::Entry;
use crate::container::{ContainerState, Health, PullProgress};

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
        /// The operation (`deploy`, `update`, …).
        action: String,
        /// `started`, `step`, `finished` or `failed`.
        phase: String,
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
