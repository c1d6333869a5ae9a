//! Observability: resource samples of containers (what the sampler reads from the kernel's
//! cgroup files or the Engine's one-shot stats), the figures derived from two readings, and the
//! status/health history of containers with the per-service summary computed from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// Where resource figures come from.
    pub enum StatsSource ("stats source") {
        /// The kernel's cgroup files (and `/proc/<pid>/net/dev`): no request to Docker.
        Cgroup = "cgroup",
        /// The Engine's one-shot stats (`stream=false&one-shot=true`), with bounded concurrency.
        Engine = "engine",
        /// Sampling is turned off (`SDMD_STATS_INTERVAL=off`).
        Off = "off",
    }
}

/// Cumulative counters of one container at one instant, as the kernel keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// CPU time used since the container started, nanoseconds.
    pub cpu_ns: u64,
    /// Memory charged to the container, bytes (page cache included).
    pub memory_usage: u64,
    /// Inactive file pages (page cache that can be dropped), bytes: subtracted as `docker stats`
    /// does (cgroup v1 `total_inactive_file`, v2 `inactive_file`).
    pub memory_inactive_file: u64,
    /// The memory limit, bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// Bytes received on the container's interfaces (not `lo`); `None` when unknown (host
    /// network, or its `/proc` not visible).
    pub net_rx: Option<u64>,
    /// Bytes sent.
    pub net_tx: Option<u64>,
    /// Bytes read from block devices.
    pub block_read: u64,
    /// Bytes written to block devices.
    pub block_write: u64,
    /// Processes and threads.
    pub pids: u64,
    /// When the Engine took them (its `read` time, nanoseconds since the epoch); `None` for the
    /// cgroup files, read at the moment of the call.
    pub read_at_ns: Option<i64>,
}

impl Counters {
    /// Seconds between two readings by their own clocks, when both carry one (the Engine's
    /// answers are taken at its collector's tick, not when asked).
    pub fn seconds_since(&self, before: &Counters) -> Option<f64> {
        match (before.read_at_ns, self.read_at_ns) {
            (Some(b), Some(a)) if a > b => Some((a - b) as f64 / 1e9),
            _ => None,
        }
    }

    /// Memory in use without the page cache that can be dropped (`docker stats`' figure).
    pub fn memory_used(&self) -> u64 {
        if self.memory_inactive_file < self.memory_usage {
            self.memory_usage - self.memory_inactive_file
        } else {
            self.memory_usage
        }
    }
}

/// What one sampling round says of one container: rates over the time since the previous
/// reading, and the cumulative counters (for Prometheus).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Container id.
    pub container_id: String,
    /// CPU use in percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
    /// Memory in use (page cache excluded), bytes.
    pub memory_bytes: u64,
    /// The limit, or the host's memory when unlimited, bytes.
    pub memory_limit_bytes: u64,
    /// Received bytes per second (`None` when unknown).
    pub net_rx_bytes_per_s: Option<f64>,
    /// Sent bytes per second.
    pub net_tx_bytes_per_s: Option<f64>,
    /// Block bytes read per second.
    pub block_read_bytes_per_s: f64,
    /// Block bytes written per second.
    pub block_write_bytes_per_s: f64,
    /// Processes and threads.
    pub pids: u64,
    /// The cumulative counters of this reading.
    pub counters: Counters,
}

/// Per-second rate of a counter between two readings (a counter that went back — a restart —
/// counts from zero).
fn rate(before: u64, after: u64, seconds: f64) -> f64 {
    let d = if after >= before {
        after - before
    } else {
        after
    };
    d as f64 / seconds
}

/// The figures between two readings `seconds` apart; `host_memory` stands in for no limit.
pub fn derive(
    container_id: &str,
    before: &Counters,
    after: &Counters,
    seconds: f64,
    host_memory: u64,
) -> Reading {
    let seconds = seconds.max(1e-3);
    let net = |b: Option<u64>, a: Option<u64>| match (b, a) {
        (Some(b), Some(a)) => Some(rate(b, a, seconds)),
        _ => None,
    };
    Reading {
        container_id: container_id.to_owned(),
        cpu_percent: rate(before.cpu_ns, after.cpu_ns, seconds) / 1e9 * 100.0,
        memory_bytes: after.memory_used(),
        memory_limit_bytes: after
            .memory_limit
            .filter(|l| host_memory == 0 || *l < host_memory)
            .unwrap_or(host_memory),
        net_rx_bytes_per_s: net(before.net_rx, after.net_rx),
        net_tx_bytes_per_s: net(before.net_tx, after.net_tx),
        block_read_bytes_per_s: rate(before.block_read, after.block_read, seconds),
        block_write_bytes_per_s: rate(before.block_write, after.block_write, seconds),
        pids: after.pids,
        counters: *after,
    }
}

/// One stored sample of one container, as the API sends it. Downsampled rows carry the
/// average in the main fields and the maximum of the bucket in the `_max` fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    /// Start of the bucket (or the instant of a full-resolution sample).
    pub at: DateTime<Utc>,
    /// CPU in percent of one core.
    pub cpu_percent: f64,
    /// Highest CPU in the bucket.
    pub cpu_percent_max: f64,
    /// Memory in use without page cache, bytes.
    pub memory_bytes: i64,
    /// Highest memory in the bucket.
    pub memory_bytes_max: i64,
    /// The memory limit (the host's memory when unlimited), bytes.
    pub memory_limit_bytes: i64,
    /// Received bytes per second (`null` when unknown: host network).
    pub net_rx_bytes_per_s: Option<f64>,
    /// Sent bytes per second.
    pub net_tx_bytes_per_s: Option<f64>,
    /// Block reads, bytes per second.
    pub block_read_bytes_per_s: f64,
    /// Block writes, bytes per second.
    pub block_write_bytes_per_s: f64,
    /// Processes and threads.
    pub pids: i64,
}

/// The samples of one container of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerSamples {
    /// The member (compose service) the container runs.
    pub member: String,
    /// Container name.
    pub container: String,
    /// Container id.
    pub container_id: String,
    /// Oldest first.
    pub samples: Vec<Sample>,
}

crate::text_enum! {
    /// Which table a stats answer was read from.
    pub enum Resolution ("stats resolution") {
        /// Every sampling round (kept 24 h).
        Raw = "raw",
        /// One-minute averages and maxima (kept 7 days).
        Minute = "1m",
        /// Fifteen-minute averages and maxima (kept 90 days).
        Quarter = "15m",
    }
}

impl Resolution {
    /// The width of a row of this table, seconds (raw: the sampling interval at most).
    pub const fn seconds(self) -> i64 {
        match self {
            Resolution::Raw => 1,
            Resolution::Minute => 60,
            Resolution::Quarter => 900,
        }
    }

    /// How long rows of this table are kept.
    pub const fn retention(self) -> chrono::TimeDelta {
        match self {
            Resolution::Raw => chrono::TimeDelta::hours(24),
            Resolution::Minute => chrono::TimeDelta::days(7),
            Resolution::Quarter => chrono::TimeDelta::days(90),
        }
    }

    /// The finest table that still holds `from` and whose rows are no wider than `step`
    /// seconds (a step finer than a table's rows reads that table anyway when it is the only one
    /// that reaches back far enough).
    pub fn pick(from: DateTime<Utc>, now: DateTime<Utc>, step: i64) -> Self {
        // A minute of slack: a range of exactly the retention ("the last 24 h") asked a moment
        // ago still reads the finer table.
        let age = now - from - chrono::TimeDelta::minutes(1);
        if age <= Resolution::Raw.retention() && step < 60 {
            Resolution::Raw
        } else if age <= Resolution::Minute.retention() && step < 900 {
            Resolution::Minute
        } else {
            Resolution::Quarter
        }
    }
}

/// `GET /api/v1/services/{name}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceStats {
    /// The service.
    pub service: String,
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// The bucket width of the samples, seconds.
    pub step: i64,
    /// The table the samples were read from.
    pub resolution: Resolution,
    /// Where the sampler reads figures from now.
    pub source: StatsSource,
    /// Per container (running or not) that has samples in the range.
    pub containers: Vec<ContainerSamples>,
}

crate::text_enum! {
    /// What a transition changed.
    pub enum TransitionKind ("transition kind") {
        /// The container's lifecycle state.
        State = "state",
        /// Its healthcheck verdict.
        Health = "health",
    }
}

/// One status or health transition of a container, as recorded from the events stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    /// When the engine reported it.
    pub at: DateTime<Utc>,
    /// `state` or `health`.
    pub kind: TransitionKind,
    /// Container name.
    pub container: String,
    /// Container id.
    pub container_id: String,
    /// The member (compose service).
    pub member: String,
    /// The state or health before (`null` when unknown: the first record of a container).
    pub from: Option<String>,
    /// The state (`running`, `exited`, `restarting`, `paused`, `dead`, `removed`) or health
    /// (`healthy`, `unhealthy`, `starting`) after.
    pub to: String,
    /// The exit code, for a transition to `exited`/`restarting`/`dead`.
    pub exit_code: Option<i64>,
    /// Whether the kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// For a health transition: the output of the last probe.
    pub probe_output: Option<String>,
}

/// Figures over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Uptime {
    /// The window, seconds (86 400, 604 800, 2 592 000).
    pub window_seconds: i64,
    /// Percent of the observed time the service's containers were running (`null` when nothing
    /// was observed in the window).
    pub uptime_percent: Option<f64>,
    /// Seconds of the window SDMD has history for (recording started later, or the service is
    /// younger than the window).
    pub observed_seconds: i64,
    /// Starts after an exit (restart policy or by hand) in the window.
    pub restarts: i64,
    /// Seconds containers spent unhealthy in the window (summed over containers).
    pub unhealthy_seconds: i64,
}

/// `GET /api/v1/services/{name}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceHistory {
    /// The service.
    pub service: String,
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// Transitions in the range, oldest first (at most 5 000; `truncated` says when more).
    pub transitions: Vec<Transition>,
    /// Whether the range held more transitions than were sent (the newest are kept).
    pub truncated: bool,
    /// Uptime over the last 24 h, 7 d and 30 d (ending now, whatever the range).
    pub uptime: Vec<Uptime>,
    /// The latest exit with a non-zero code or unhealthy verdict, with its probe output.
    pub last_failure: Option<Transition>,
}

/// The uptime figures of `window` seconds ending at `now`, from every transition of the service
/// that could matter (all transitions at or after `now - window`, plus each container's last one
/// before it, which says where it stood when the window opened).
pub fn uptime(transitions: &[Transition], now: DateTime<Utc>, window: i64) -> Uptime {
    use std::collections::BTreeMap;
    let start = now - chrono::TimeDelta::seconds(window);
    // Per container: its state transitions and its health transitions, oldest first.
    let mut by: BTreeMap<&str, (Vec<&Transition>, Vec<&Transition>)> = BTreeMap::new();
    for t in transitions {
        let e = by.entry(&t.container_id).or_default();
        match t.kind {
            TransitionKind::State => e.0.push(t),
            TransitionKind::Health => e.1.push(t),
        }
    }
    let (mut observed, mut running, mut unhealthy, mut restarts) = (0i64, 0i64, 0i64, 0i64);
    for (states, healths) in by.values_mut() {
        states.sort_by_key(|t| t.at);
        healths.sort_by_key(|t| t.at);
        // Time in each state within [start, now].
        let spans = |list: &[&Transition], f: &dyn Fn(&str) -> bool| -> (i64, i64) {
            let (mut seen, mut matching) = (0i64, 0i64);
            for (i, t) in list.iter().enumerate() {
                let until = list.get(i + 1).map_or(now, |n| n.at).min(now);
                let from = t.at.max(start);
                if until > from && t.to != "removed" {
                    let d = (until - from).num_seconds();
                    seen += d;
                    if f(&t.to) {
                        matching += d;
                    }
                }
            }
            (seen, matching)
        };
        let (seen, up) = spans(states, &|s| s == "running");
        observed += seen;
        running += up;
        unhealthy += spans(healths, &|h| h == "unhealthy").1;
        restarts += states
            .windows(2)
            .filter(|w| {
                w[1].at >= start
                    && w[1].to == "running"
                    && matches!(w[0].to.as_str(), "exited" | "restarting" | "dead")
            })
            .count() as i64;
    }
    Uptime {
        window_seconds: window,
        uptime_percent: (observed > 0).then(|| running as f64 * 100.0 / observed as f64),
        observed_seconds: observed,
        restarts,
        unhealthy_seconds: unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs_ago: i64, kind: TransitionKind, to: &str, now: DateTime<Utc>) -> Transition {
        Transition {
            at: now - chrono::TimeDelta::seconds(secs_ago),
            kind,
            container: "c".into(),
            container_id: "id1".into(),
            member: "web".into(),
            from: None,
            to: to.into(),
            exit_code: None,
            oom_killed: false,
            probe_output: None,
        }
    }

    #[test]
    fn derived_figures_follow_docker_stats() {
        let before = Counters {
            cpu_ns: 1_000_000_000,
            net_rx: Some(1000),
            net_tx: Some(0),
            block_write: 0,
            ..Counters::default()
        };
        let after = Counters {
            cpu_ns: 2_500_000_000,
            memory_usage: 100 << 20,
            memory_inactive_file: 30 << 20,
            memory_limit: None,
            net_rx: Some(3000),
            net_tx: Some(500),
            block_read: 0,
            block_write: 4096,
            pids: 3,
            read_at_ns: None,
        };
        let r = derive("x", &before, &after, 2.0, 8 << 30);
        assert!((r.cpu_percent - 75.0).abs() < 1e-9);
        assert_eq!(r.memory_bytes, 70 << 20);
        assert_eq!(r.memory_limit_bytes, 8 << 30);
        assert_eq!(r.net_rx_bytes_per_s, Some(1000.0));
        assert_eq!(r.net_tx_bytes_per_s, Some(250.0));
        assert_eq!(r.block_write_bytes_per_s, 2048.0);
        // A limit below the host's memory is the limit; no network is unknown, not zero.
        let limited = Counters {
            memory_limit: Some(16 << 20),
            net_rx: None,
            ..after
        };
        let r = derive("x", &before, &limited, 2.0, 8 << 30);
        assert_eq!(r.memory_limit_bytes, 16 << 20);
        assert_eq!(r.net_rx_bytes_per_s, None);
        // A counter that went back (restart) counts from zero.
        let r = derive("x", &after, &before, 1.0, 0);
        assert!((r.cpu_percent - 100.0).abs() < 1e-9);
    }

    #[test]
    fn resolution_is_the_finest_table_that_reaches_back() {
        let now = Utc::now();
        let h = |n| now - chrono::TimeDelta::hours(n);
        assert_eq!(Resolution::pick(h(1), now, 5), Resolution::Raw);
        let just_over = now - chrono::TimeDelta::hours(24) - chrono::TimeDelta::seconds(2);
        assert_eq!(Resolution::pick(just_over, now, 5), Resolution::Raw);
        assert_eq!(Resolution::pick(h(1), now, 60), Resolution::Minute);
        assert_eq!(Resolution::pick(h(48), now, 5), Resolution::Minute);
        assert_eq!(Resolution::pick(h(48), now, 900), Resolution::Quarter);
        assert_eq!(Resolution::pick(h(24 * 30), now, 60), Resolution::Quarter);
    }

    #[test]
    fn uptime_counts_running_time_restarts_and_unhealthy_time() {
        let now = Utc::now();
        use TransitionKind::{Health, State};
        let list = vec![
            // Before the window: running; it opens running.
            t(100_000, State, "running", now),
            t(100_000, Health, "healthy", now),
            // 1000 s down, then up again (a restart).
            t(10_000, State, "exited", now),
            t(9_000, State, "running", now),
            t(5_000, Health, "unhealthy", now),
            t(4_400, Health, "healthy", now),
        ];
        let u = uptime(&list, now, 86_400);
        assert_eq!(u.observed_seconds, 86_400);
        assert_eq!(u.restarts, 1);
        assert_eq!(u.unhealthy_seconds, 600);
        let pct = u.uptime_percent.unwrap();
        assert!((pct - (85_400.0 * 100.0 / 86_400.0)).abs() < 1e-6, "{pct}");
        // Nothing observed in the window: no figure, not 0 % or 100 %.
        assert_eq!(uptime(&[], now, 3600).uptime_percent, None);
        // A container recorded only recently: only its observed time counts.
        let young = vec![t(600, State, "running", now)];
        let u = uptime(&young, now, 86_400);
        assert_eq!(u.observed_seconds, 600);
        assert_eq!(u.uptime_percent, Some(100.0));
    }
}
