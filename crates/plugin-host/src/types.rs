//! The host's own view of plugin inputs and outputs, independent of any WIT version. Each bindings module
//! (`v0_1`, later `v0_2`) converts between these and its generated types, so the rest of SDMD never sees a
//! WIT version. The JSON shapes are what `POST /api/v1/plugins/{id}/invoke` accepts and returns.

use serde::{Deserialize, Serialize};

/// The service a call is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// Definition revision.
    pub revision: u64,
    /// Labels of the definition.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// An image reference split into its parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// The full reference.
    pub reference: String,
    /// Registry host and repository path.
    pub repository: String,
    /// The tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// The running image's digest.
    #[serde(default)]
    pub digest: Option<String>,
}

/// A tag offered to a strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The tag.
    pub tag: String,
    /// Its digest, when known.
    #[serde(default)]
    pub digest: Option<String>,
}

/// Input of an update strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyInput {
    /// The service.
    #[serde(default)]
    pub service: Service,
    /// The member whose image is checked.
    #[serde(default)]
    pub member: String,
    /// The running image.
    pub current: Image,
    /// Tags found in the registry.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
}

/// A strategy's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Decision {
    /// Stay on the current image.
    Skip {
        /// Why.
        reason: String,
    },
    /// Update to this tag.
    UpdateTo {
        /// The chosen candidate.
        candidate: Candidate,
    },
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Port {
    /// Host address.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    #[serde(default = "tcp")]
    pub protocol: String,
}

fn tcp() -> String {
    "tcp".into()
}

/// A container of the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Member it runs.
    pub member: String,
    /// Image reference.
    pub image: String,
    /// Docker state.
    pub state: String,
    /// Docker HEALTHCHECK status.
    pub health: Option<String>,
    /// Restart count.
    pub restart_count: u32,
    /// Published ports.
    pub ports: Vec<Port>,
}

/// Input of a health check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthInput {
    /// The service.
    pub service: Service,
    /// Its containers.
    pub containers: Vec<Container>,
    /// Earlier `retry_after` answers for this update.
    pub attempt: u32,
}

/// A health verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Health {
    /// Works.
    Healthy,
    /// Broken.
    Unhealthy {
        /// Why.
        reason: String,
    },
    /// Ask again later.
    RetryAfter {
        /// After this many milliseconds.
        ms: u32,
    },
}

/// Kinds of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A newer image exists.
    UpdateAvailable,
    /// Updated.
    Updated,
    /// Rolled back.
    RolledBack,
    /// Failed.
    Failed,
    /// A container died.
    ContainerDied,
}

/// An event for notifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Kind.
    pub kind: EventKind,
    /// Service.
    #[serde(default)]
    pub service: Service,
    /// One line for humans.
    pub summary: String,
    /// Image before.
    #[serde(default)]
    pub from_image: Option<String>,
    /// Image after.
    #[serde(default)]
    pub to_image: Option<String>,
    /// Detail.
    #[serde(default)]
    pub detail: Option<String>,
    /// RFC 3339 time.
    #[serde(default)]
    pub timestamp: String,
}

/// Log line severity (plus the captured stdio streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    Info,
    /// warn
    Warn,
    /// error
    Error,
    /// captured from the guest's stdout
    Stdout,
    /// captured from the guest's stderr
    Stderr,
}

/// One line of a plugin's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Severity or stream.
    pub level: LogLevel,
    /// Text (each line capped).
    pub message: String,
}
