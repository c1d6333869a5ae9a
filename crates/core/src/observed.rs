//! What the observability jobs (the observe module) share with the rest of SDMD: the
//! sampler's configuration, the latest reading of every running container with a short trail
//! for sparklines, the host's figures, the rounds as they happen, and the counters `/metrics`
//! shows. A leaf: the application state holds it, the jobs fill it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sdmd_engine::stats::Roots;
use sdmd_model::container::{ContainerInfo, labels};
use sdmd_model::observe::{Reading, StatsSource};
use tokio::sync::{RwLock, broadcast};

/// How the sampler runs (`SDMD_STATS_*`).
#[derive(Debug, Clone)]
pub struct StatsConfig {
    /// Every how long; `None` turns sampling off (`SDMD_STATS_INTERVAL=off`).
    pub interval: Option<Duration>,
    /// Where the cgroup and proc files are (the host's by default).
    pub roots: Roots,
    /// Read every container through the Engine (`SDMD_STATS_SOURCE=engine`).
    pub force_engine: bool,
    /// Write samples to PostgreSQL (`SDMD_STATS_STORE=false` keeps them in memory only).
    pub store: bool,
    /// How long transitions are kept, days (at least 90).
    pub history_days: i64,
    /// How often each replica tries the rollup job (a minute; tests make it shorter).
    pub rollup_every: Duration,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            interval: Some(Duration::from_secs(5)),
            roots: Roots::default(),
            force_engine: false,
            store: true,
            history_days: 90,
            rollup_every: Duration::from_secs(60),
        }
    }
}

/// Points kept per container for sparklines (2.5 min at the default 5 s).
pub const TRAIL: usize = 30;

/// The newest reading of one container and who it belongs to.
#[derive(Debug, Clone)]
pub struct Latest {
    /// The service key (see [`service_key`]).
    pub service: String,
    /// The member.
    pub member: String,
    /// Container name.
    pub container: String,
    /// The reading.
    pub reading: Reading,
    /// When.
    pub at: DateTime<Utc>,
    /// The last readings' CPU percent and memory bytes, oldest first.
    pub trail: VecDeque<(f64, u64)>,
}

/// One round as sent to `stats` subscribers.
#[derive(Debug, Clone)]
pub struct Round {
    /// The round's instant.
    pub at: DateTime<Utc>,
    /// Each container read: (service key, member, container name, reading).
    pub readings: Vec<(String, String, String, Reading)>,
}

/// The host's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host {
    /// CPUs.
    pub cpus: u32,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// The host's CPU use over the last round, percent of all CPUs.
    pub cpu_percent: Option<f64>,
}

/// What the sampler and recorder share with the API.
pub struct Observed {
    pub(crate) source: std::sync::Mutex<StatsSource>,
    pub(crate) latest: RwLock<HashMap<String, Latest>>,
    pub(crate) host: std::sync::Mutex<Host>,
    pub(crate) rounds: broadcast::Sender<Arc<Round>>,
    /// Rounds run.
    pub rounds_total: AtomicU64,
    /// Microseconds spent reading in all rounds (sum, for the mean).
    pub round_micros_total: AtomicU64,
    /// Microseconds the last round took.
    pub last_round_micros: AtomicU64,
    /// Rounds whose write failed.
    pub write_failures: AtomicU64,
    /// Transitions recorded by this replica.
    pub transitions_recorded: AtomicU64,
    /// Rollup passes that ran here (held the lock).
    pub rollups_run: AtomicU64,
    /// The observability tables' (name, bytes, estimated rows), measured each minute.
    pub table_sizes: std::sync::Mutex<Vec<(String, i64, i64)>>,
    /// The configuration.
    pub config: StatsConfig,
}

impl Observed {
    /// State for `config` (sampling not started).
    pub fn new(config: StatsConfig) -> Self {
        let source = if config.interval.is_none() {
            StatsSource::Off
        } else if config.force_engine {
            StatsSource::Engine
        } else {
            StatsSource::Cgroup
        };
        Self {
            source: std::sync::Mutex::new(source),
            latest: RwLock::default(),
            host: std::sync::Mutex::new(Host {
                cpus: config.roots.host_cpus(),
                memory_bytes: config.roots.host_memory(),
                cpu_percent: None,
            }),
            rounds: broadcast::channel(16).0,
            rounds_total: AtomicU64::new(0),
            round_micros_total: AtomicU64::new(0),
            last_round_micros: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
            transitions_recorded: AtomicU64::new(0),
            rollups_run: AtomicU64::new(0),
            table_sizes: std::sync::Mutex::default(),
            config,
        }
    }

    /// Where figures come from now.
    pub fn source(&self) -> StatsSource {
        *self.source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host's figures.
    pub fn host(&self) -> Host {
        *self.host.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest reading of every running container.
    pub async fn latest(&self) -> Vec<Latest> {
        self.latest.read().await.values().cloned().collect()
    }

    /// Rounds as they happen (the events stream's `stats` events).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Round>> {
        self.rounds.subscribe()
    }
}

impl Default for Observed {
    fn default() -> Self {
        Self::new(StatsConfig::default())
    }
}

/// The service a container's history and samples are stored under: an SDMD service by its
/// name, a compose project as `compose:<project>`, a lone container as `container:<name>` (the
/// ids the API addresses them by).
pub fn service_key(c: &ContainerInfo) -> String {
    if let Some(s) = c.label(labels::SERVICE) {
        return s.to_owned();
    }
    match c.label(labels::COMPOSE_PROJECT) {
        Some(p) => format!("{}{p}", sdmd_model::status::COMPOSE_PREFIX),
        None => format!("{}{}", sdmd_model::status::CONTAINER_PREFIX, c.name),
    }
}

/// The member a container runs: SDMD's label, compose's service, else its name.
pub fn member_of(c: &ContainerInfo) -> String {
    c.label(labels::MEMBER)
        .or_else(|| c.label(labels::COMPOSE_SERVICE))
        .unwrap_or(&c.name)
        .to_owned()
}
