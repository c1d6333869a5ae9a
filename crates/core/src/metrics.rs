//! Prometheus counters of this replica (`GET /metrics`, text exposition format).

use std::sync::atomic::{AtomicU64, Ordering};

/// Update and check counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Registry checks run (per service).
    pub checks: AtomicU64,
    /// Updates that replaced containers.
    pub updates: AtomicU64,
    /// Updates that found nothing to do.
    pub up_to_date: AtomicU64,
    /// Updates rolled back by the health gate.
    pub rollbacks: AtomicU64,
    /// Checks or updates that failed.
    pub failures: AtomicU64,
    /// Sum of update durations in milliseconds.
    pub update_ms_sum: AtomicU64,
    /// Number of update durations summed.
    pub update_count: AtomicU64,
    /// Notifier deliveries that succeeded.
    pub notifications_sent: AtomicU64,
    /// Notifier deliveries that failed.
    pub notifications_failed: AtomicU64,
    /// Events not sent because of a notifier's cooldown.
    pub notifications_suppressed: AtomicU64,
}

impl Metrics {
    /// Records the end of an update run (`None`: it failed).
    pub fn update_finished(
        &self,
        result: Option<sdmd_model::updates::UpdateResult>,
        elapsed: std::time::Duration,
    ) {
        use sdmd_model::updates::UpdateResult;
        let c = match result {
            Some(UpdateResult::Updated) => &self.updates,
            Some(UpdateResult::UpToDate) => &self.up_to_date,
            Some(UpdateResult::RolledBack) => &self.rollbacks,
            None => &self.failures,
        };
        c.fetch_add(1, Ordering::Relaxed);
        self.update_ms_sum.fetch_add(
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.update_count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Renders the exposition text.
pub fn render(
    m: &Metrics,
    r: &crate::registry::Counters,
    containers: usize,
    docker_up: bool,
) -> String {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, u64)]| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in lines {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    metric(
        "sdmd_checks_total",
        "counter",
        "Registry checks run.",
        &[(String::new(), g(&m.checks))],
    );
    metric(
        "sdmd_updates_total",
        "counter",
        "Update runs by result.",
        &[
            ("{result=\"updated\"}".into(), g(&m.updates)),
            ("{result=\"up_to_date\"}".into(), g(&m.up_to_date)),
            ("{result=\"rolled_back\"}".into(), g(&m.rollbacks)),
            ("{result=\"failed\"}".into(), g(&m.failures)),
        ],
    );
    metric(
        "sdmd_rollbacks_total",
        "counter",
        "Updates rolled back by the health gate.",
        &[(String::new(), g(&m.rollbacks))],
    );
    metric(
        "sdmd_update_failures_total",
        "counter",
        "Checks and updates that failed.",
        &[(String::new(), g(&m.failures))],
    );
    metric(
        "sdmd_registry_requests_total",
        "counter",
        "Requests sent to registries by kind.",
        &[
            ("{kind=\"head\"}".into(), g(&r.head)),
            ("{kind=\"get\"}".into(), g(&r.get)),
            ("{kind=\"token\"}".into(), g(&r.token)),
            ("{kind=\"tags\"}".into(), g(&r.tags)),
        ],
    );
    metric(
        "sdmd_registry_cache_hits_total",
        "counter",
        "Checks answered from the cache.",
        &[(String::new(), g(&r.cache_hits))],
    );
    metric(
        "sdmd_notifications_total",
        "counter",
        "Events for notifier plugins by outcome.",
        &[
            ("{result=\"sent\"}".into(), g(&m.notifications_sent)),
            ("{result=\"failed\"}".into(), g(&m.notifications_failed)),
            (
                "{result=\"suppressed\"}".into(),
                g(&m.notifications_suppressed),
            ),
        ],
    );
    metric(
        "sdmd_containers",
        "gauge",
        "Containers on the host.",
        &[(String::new(), containers as u64)],
    );
    metric(
        "sdmd_docker_up",
        "gauge",
        "Whether the Docker events stream is connected.",
        &[(String::new(), u64::from(docker_up))],
    );
    out.push_str(&format!(
        "# HELP sdmd_update_duration_seconds Duration of update runs.\n# TYPE sdmd_update_duration_seconds summary\n\
         sdmd_update_duration_seconds_sum {:.3}\nsdmd_update_duration_seconds_count {}\n",
        g(&m.update_ms_sum) as f64 / 1000.0,
        g(&m.update_count)
    ));
    out
}
