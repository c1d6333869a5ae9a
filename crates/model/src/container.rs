//! A container as SDMD tracks it, in the engine's terms but without the engine: lifecycle state,
//! health, published ports, labels, pull progress and log lines. `sdmd-engine` fills these in from
//! bollard's types; everything above sees only these.

use std::collections::HashMap;

use serde::Serialize;

/// Label keys SDMD puts on what it creates.
pub mod labels {
    /// The service a container, network or volume belongs to.
    pub const SERVICE: &str = "io.sdmd.service";
    /// The member (compose service) a container runs.
    pub const MEMBER: &str = "io.sdmd.member";
    /// The definition revision the container was created from.
    pub const REVISION: &str = "io.sdmd.revision";
    /// Hash of the member's configuration; a change means recreate.
    pub const CONFIG_HASH: &str = "io.sdmd.config-hash";
    /// Which of the member's containers this is, from 1 (compose's
    /// `com.docker.compose.container-number`); containers without it are number 1.
    pub const REPLICA: &str = "io.sdmd.replica";
    /// A short-lived helper container sdmd runs (`chown`), removed when it is done.
    pub const HELPER: &str = "io.sdmd.helper";
    /// Compose's project label, used to group unmanaged containers.
    pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
    /// Compose's service label.
    pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
    /// Compose's number of a container among its service's replicas (from 1).
    pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";
    /// Compose v2's record of a service's `depends_on`: `service:condition:restart[,…]`.
    pub const COMPOSE_DEPENDS_ON: &str = "com.docker.compose.depends_on";
}

/// Container lifecycle state as Docker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

/// Docker's health verdict for a container (`none` when it has no health check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", schema(as = ContainerHealth))]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// A port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedPort {
    /// Host address (empty = all).
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// One container as SDMD tracks it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerInfo {
    /// Full container id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Image reference the container was created from.
    pub image: String,
    /// Local image id (`sha256:…`).
    pub image_id: String,
    /// Lifecycle state.
    pub state: ContainerState,
    /// Health verdict.
    pub health: Health,
    /// Docker's human status text (`Up 3 minutes`).
    pub status_text: String,
    /// Container labels.
    pub labels: HashMap<String, String>,
    /// Published ports.
    pub ports: Vec<PublishedPort>,
    /// Creation time (Unix seconds).
    pub created: i64,
}

impl ContainerInfo {
    /// The value of a label, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// Which replica of its member an SDMD container is (`io.sdmd.replica`, 1 when absent).
    pub fn replica(&self) -> u32 {
        self.label(labels::REPLICA)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
    }
}

/// Progress of an image pull, one line of Docker's stream.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullProgress {
    /// Layer id, when the line is about one layer.
    pub layer: Option<String>,
    /// Docker's status text (`Downloading`, `Pull complete`, …).
    pub status: String,
    /// Bytes done, when known.
    pub current: Option<i64>,
    /// Bytes in all, when known.
    pub total: Option<i64>,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One log line with Docker's timestamp.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// RFC 3339 timestamp from the engine.
    pub ts: String,
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line without its trailing newline.
    pub line: String,
}
