//! Observability jobs: the resource sampler (every N seconds, all running containers, from the
//! kernel's cgroup files — `sdmd_engine::stats`), the rollup job (downsampling and retention,
//! once across replicas), the history recorder (every state and health transition from the
//! events stream, once across replicas), and what the API reads of them.
//!
//! The sampler keeps the latest reading of each container and a short trail (for sparklines)
//! in memory; each round is written to PostgreSQL in one statement, at an instant aligned to
//! the interval so that replicas sampling the same round write one row per container.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sdmd_engine::stats::Reader;
use sdmd_model::container::{ContainerInfo, ContainerState, labels};
use sdmd_model::observe::{self as model, Counters, Transition};

pub use crate::observed::{
    Host, Latest, Observed, Round, StatsConfig, TRAIL, member_of, service_key,
};

use crate::db;
use crate::live::Seen;
use crate::state::AppState;

/// Which replica this is, in the rollup runs table.
fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}:{}", host.trim(), std::process::id())
}

/// The next instant after now that is a multiple of `every` since the epoch.
fn next_tick(every: Duration) -> (DateTime<Utc>, Duration) {
    let now = Utc::now();
    let ms = every.as_millis().max(1) as i64;
    let now_ms = now.timestamp_millis();
    let next = (now_ms / ms + 1) * ms;
    let at = Utc
        .timestamp_millis_opt(next)
        .single()
        .unwrap_or(now + chrono::TimeDelta::milliseconds(ms));
    (at, Duration::from_millis((next - now_ms).max(0) as u64))
}

impl AppState {
    /// Starts the sampler and the rollup job (when sampling is on); they stop with `shutdown`.
    pub fn spawn_observability(&self) {
        if self.observed.config.interval.is_some() {
            tokio::spawn(sample(self.clone()));
        }
        tokio::spawn(rollups(self.clone()));
    }

    /// Starts the history recorder; the returned sender takes what the events watcher saw.
    pub fn spawn_history(&self) -> tokio::sync::mpsc::UnboundedSender<Seen> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(record(self.clone(), rx));
        tx
    }
}

/// The sampler: one round every interval until shutdown.
async fn sample(state: AppState) {
    let Some(every) = state.observed.config.interval else {
        return;
    };
    let cfg = &state.observed.config;
    let mut reader = Reader::new(state.docker.clone(), cfg.roots.clone(), cfg.force_engine);
    let mut previous: HashMap<String, (Instant, Counters)> = HashMap::new();
    let mut host_ticks = reader.roots().host_cpu_ticks();
    loop {
        let (at, wait) = next_tick(every);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.cancelled() => return,
        }
        if !state.live.connected() {
            continue;
        }
        let started = Instant::now();
        let running: Vec<ContainerInfo> = state
            .live
            .containers()
            .await
            .into_iter()
            .filter(|c| c.state == ContainerState::Running)
            .collect();
        let ids: Vec<String> = running.iter().map(|c| c.id.clone()).collect();
        let (read, source) = reader.read(&ids).await;
        let host_memory = state.observed.host().memory_bytes;
        let now = Instant::now();
        let by_id: HashMap<&str, &ContainerInfo> =
            running.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut readings = Vec::with_capacity(read.len());
        let mut next_previous = HashMap::with_capacity(read.len());
        for (id, counters) in read {
            if let Some((then, before)) = previous.get(&id)
                && let Some(c) = by_id.get(id.as_str())
            {
                // The Engine's answers carry the time they were taken; the files are read now.
                let seconds = counters
                    .seconds_since(before)
                    .unwrap_or_else(|| now.duration_since(*then).as_secs_f64());
                let r = model::derive(&id, before, &counters, seconds, host_memory);
                readings.push((service_key(c), member_of(c), c.name.clone(), r));
            }
            next_previous.insert(id, (now, counters));
        }
        previous = next_previous;
        let ticks = reader.roots().host_cpu_ticks();
        let host_cpu = match (host_ticks, ticks) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                Some((b1.saturating_sub(b0)) as f64 * 100.0 / (t1 - t0) as f64)
            }
            _ => None,
        };
        host_ticks = ticks;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let o = &state.observed;
        o.last_round_micros.store(micros, Ordering::Relaxed);
        o.round_micros_total.fetch_add(micros, Ordering::Relaxed);
        o.rounds_total.fetch_add(1, Ordering::Relaxed);
        *o.source.lock().unwrap_or_else(|p| p.into_inner()) =
            if ids.is_empty() { o.source() } else { source };
        o.host.lock().unwrap_or_else(|p| p.into_inner()).cpu_percent = host_cpu;
        {
            let mut latest = o.latest.write().await;
            latest.retain(|id, _| by_id.contains_key(id.as_str()));
            for (service, member, container, r) in &readings {
                let e = latest
                    .entry(r.container_id.clone())
                    .or_insert_with(|| Latest {
                        service: service.clone(),
                        member: member.clone(),
                        container: container.clone(),
                        reading: r.clone(),
                        at,
                        trail: VecDeque::with_capacity(TRAIL),
                    });
                e.reading = r.clone();
                e.at = at;
                e.service.clone_from(service);
                e.container.clone_from(container);
                if e.trail.len() == TRAIL {
                    e.trail.pop_front();
                }
                e.trail.push_back((r.cpu_percent, r.memory_bytes));
            }
        }
        if o.config.store && !readings.is_empty() {
            let rows: Vec<db::observe::SampleRow> = readings
                .iter()
                .map(|(service, member, container, r)| db::observe::SampleRow {
                    container_id: r.container_id.clone(),
                    service: service.clone(),
                    member: member.clone(),
                    container: container.clone(),
                    cpu_percent: r.cpu_percent,
                    memory_bytes: i64::try_from(r.memory_bytes).unwrap_or(i64::MAX),
                    memory_limit_bytes: i64::try_from(r.memory_limit_bytes).unwrap_or(i64::MAX),
                    net_rx_bytes_per_s: r.net_rx_bytes_per_s,
                    net_tx_bytes_per_s: r.net_tx_bytes_per_s,
                    block_read_bytes_per_s: r.block_read_bytes_per_s,
                    block_write_bytes_per_s: r.block_write_bytes_per_s,
                    pids: i64::try_from(r.pids).unwrap_or(i64::MAX),
                })
                .collect();
            if let Err(e) = db::observe::insert_round(&state.db, at, &rows).await {
                o.write_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "writing a stats round failed");
            }
        }
        if o.rounds.receiver_count() > 0 {
            let _ = o.rounds.send(Arc::new(Round { at, readings }));
        }
    }
}

/// The rollup job: every minute, on whichever replica gets the lock.
async fn rollups(state: AppState) {
    let replica = replica_name();
    let mut first = true;
    loop {
        let every = state.observed.config.rollup_every;
        let wait = if first {
            every.min(Duration::from_secs(5))
        } else {
            every
        };
        first = false;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.cancelled() => return,
        }
        match db::observe::rollup(&state.db, &replica, state.observed.config.history_days).await {
            Ok(r) if r.ran => {
                state.observed.rollups_run.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(?r, "stats rollup");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the stats rollup failed"),
        }
        match db::observe::table_sizes(&state.db).await {
            Ok(sizes) => {
                *state
                    .observed
                    .table_sizes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = sizes;
            }
            Err(e) => tracing::debug!(error = %e, "measuring the stats tables failed"),
        }
    }
}

/// The history recorder: each transition the watcher saw, with the probe's output (health) or
/// the OOM verdict (exits) from one inspect, written once across replicas.
async fn record(state: AppState, mut rx: tokio::sync::mpsc::UnboundedReceiver<Seen>) {
    loop {
        let seen = tokio::select! {
            s = rx.recv() => match s { Some(s) => s, None => return },
            () = state.shutdown.cancelled() => return,
        };
        let Some(c) = seen.container.as_ref() else {
            continue;
        };
        if c.label(labels::HELPER).is_some() {
            continue;
        }
        let mut t = Transition {
            at: Utc.timestamp_nanos(seen.at_nanos),
            kind: seen.kind,
            container: c.name.clone(),
            container_id: seen.id.clone(),
            member: member_of(c),
            from: seen.from.map(str::to_owned),
            to: seen.to.to_owned(),
            exit_code: seen.exit_code,
            oom_killed: seen.oom,
            probe_output: None,
        };
        let health = seen.kind == model::TransitionKind::Health && seen.to != "starting";
        let exited = seen.kind == model::TransitionKind::State
            && matches!(seen.to, "exited" | "restarting" | "dead");
        if health || exited {
            match state.docker.probe_and_exit(&seen.id).await {
                Ok(p) => {
                    if health {
                        t.probe_output = p.probe_output;
                    }
                    if exited {
                        // Docker resets OOMKilled when the container starts again; the `oom`
                        // event (seen.oom) covers a restart that came first.
                        t.oom_killed |= p.oom_killed;
                        t.exit_code = t.exit_code.or(p.exit_code);
                    }
                }
                Err(e) => {
                    tracing::debug!(container = %seen.id, error = %e, "inspect for history failed")
                }
            }
        }
        let row = db::observe::TransitionRow {
            at_nanos: seen.at_nanos,
            service: service_key(c),
            transition: t,
        };
        match db::observe::insert_transition(&state.db, &row).await {
            Ok(true) => {
                state
                    .observed
                    .transitions_recorded
                    .fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "recording a transition failed"),
        }
    }
}

/// The service key and the current container ids of the service `name` addresses.
async fn key_and_ids(state: &AppState, name: &str) -> crate::error::Result<(String, Vec<String>)> {
    let targets = crate::ops::log_targets(state, name).await?;
    let ids: Vec<String> = targets.iter().map(|(_, c)| c.id.clone()).collect();
    let mut conn = state.db.acquire().await?;
    let managed = db::services::get(&mut conn, name).await?.is_some();
    let key = if managed || name.contains(':') {
        name.to_owned()
    } else {
        targets
            .first()
            .map_or_else(|| name.to_owned(), |(_, c)| service_key(c))
    };
    Ok((key, ids))
}

/// How many transitions one history answer holds at most.
pub const HISTORY_LIMIT: i64 = 5000;

/// `GET /api/v1/services/{name}/history`.
pub async fn history(
    state: &AppState,
    name: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> crate::error::Result<model::ServiceHistory> {
    let (key, ids) = key_and_ids(state, name).await?;
    let (transitions, truncated) =
        db::observe::transitions(&state.db, &key, &ids, from, to, HISTORY_LIMIT).await?;
    let now = Utc::now();
    let month =
        db::observe::transitions_since(&state.db, &key, &ids, now - chrono::TimeDelta::days(30))
            .await?;
    let uptime = [86_400, 7 * 86_400, 30 * 86_400]
        .into_iter()
        .map(|w| model::uptime(&month, now, w))
        .collect();
    let last_failure = db::observe::last_failure(&state.db, &key, &ids).await?;
    Ok(model::ServiceHistory {
        service: name.to_owned(),
        from,
        to,
        transitions,
        truncated,
        uptime,
        last_failure,
    })
}

/// `GET /api/v1/services/{name}/stats`: `step` seconds per bucket (at least the table's width).
pub async fn stats(
    state: &AppState,
    name: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Option<i64>,
) -> crate::error::Result<model::ServiceStats> {
    let (key, ids) = key_and_ids(state, name).await?;
    let span = (to - from).num_seconds().max(1);
    let interval = state
        .observed
        .config
        .interval
        .map_or(5, |d| d.as_secs().max(1) as i64);
    // About 300 points by default; never finer than the sampling interval.
    let step = step.unwrap_or((span / 300).max(interval)).max(interval);
    let resolution = model::Resolution::pick(from, Utc::now(), step);
    let step = step.max(resolution.seconds());
    let rows = db::observe::samples(&state.db, &key, &ids, from, to, step, resolution).await?;
    Ok(model::ServiceStats {
        service: name.to_owned(),
        from,
        to,
        step,
        resolution,
        source: state.observed.source(),
        containers: rows
            .into_iter()
            .map(
                |((container_id, member, container), samples)| model::ContainerSamples {
                    member,
                    container,
                    container_id,
                    samples,
                },
            )
            .collect(),
    })
}

/// A Prometheus label value, escaped.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The observability part of `/metrics`: per-container series (`service`, `member`,
/// `container` labels: one series per running container and metric, see docs/api.md), the
/// sampler's own figures and the tables' sizes (measured by the rollup job each minute).
pub async fn render_metrics(state: &AppState) -> String {
    use std::fmt::Write;
    let o = &state.observed;
    let mut latest = o.latest().await;
    latest.sort_by(|a, b| a.container.cmp(&b.container));
    let mut out = String::new();
    let labels = |service: &str, member: &str, container: &str| {
        format!(
            "{{service=\"{}\",member=\"{}\",container=\"{}\"}}",
            esc(service),
            esc(member),
            esc(container)
        )
    };
    let mut series = |name: &str, kind: &str, help: &str, f: &dyn Fn(&Latest) -> Option<f64>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for l in &latest {
            if let Some(v) = f(l) {
                let _ = writeln!(
                    out,
                    "{name}{} {v}",
                    labels(&l.service, &l.member, &l.container)
                );
            }
        }
    };
    series(
        "sdmd_container_cpu_seconds_total",
        "counter",
        "CPU time used by the container since it started.",
        &|l| Some(l.reading.counters.cpu_ns as f64 / 1e9),
    );
    series(
        "sdmd_container_cpu_percent",
        "gauge",
        "CPU over the last sampling round, percent of one core.",
        &|l| Some((l.reading.cpu_percent * 100.0).round() / 100.0),
    );
    series(
        "sdmd_container_memory_bytes",
        "gauge",
        "Memory in use without page cache (as docker stats).",
        &|l| Some(l.reading.memory_bytes as f64),
    );
    series(
        "sdmd_container_memory_limit_bytes",
        "gauge",
        "The memory limit (the host's memory when unlimited).",
        &|l| Some(l.reading.memory_limit_bytes as f64),
    );
    series(
        "sdmd_container_network_receive_bytes_total",
        "counter",
        "Bytes received on the container's interfaces (absent for host networking).",
        &|l| l.reading.counters.net_rx.map(|v| v as f64),
    );
    series(
        "sdmd_container_network_transmit_bytes_total",
        "counter",
        "Bytes sent on the container's interfaces (absent for host networking).",
        &|l| l.reading.counters.net_tx.map(|v| v as f64),
    );
    series(
        "sdmd_container_block_read_bytes_total",
        "counter",
        "Bytes read from block devices.",
        &|l| Some(l.reading.counters.block_read as f64),
    );
    series(
        "sdmd_container_block_write_bytes_total",
        "counter",
        "Bytes written to block devices.",
        &|l| Some(l.reading.counters.block_write as f64),
    );
    series(
        "sdmd_container_pids",
        "gauge",
        "Processes and threads in the container.",
        &|l| Some(l.reading.pids as f64),
    );
    let mut containers = state.live.containers().await;
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    let _ = writeln!(
        out,
        "# HELP sdmd_container_up Whether the container runs (every container on the host).\n\
         # TYPE sdmd_container_up gauge"
    );
    for c in &containers {
        let _ = writeln!(
            out,
            "sdmd_container_up{} {}",
            labels(&service_key(c), &member_of(c), &c.name),
            u8::from(c.state == ContainerState::Running)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sdmd_container_health Healthcheck verdict: 1 healthy, 0.5 starting, 0 unhealthy \
         (no series without a healthcheck).\n# TYPE sdmd_container_health gauge"
    );
    for c in &containers {
        let v = match c.health {
            sdmd_model::container::Health::Healthy => "1",
            sdmd_model::container::Health::Starting => "0.5",
            sdmd_model::container::Health::Unhealthy => "0",
            sdmd_model::container::Health::None => continue,
        };
        let _ = writeln!(
            out,
            "sdmd_container_health{} {v}",
            labels(&service_key(c), &member_of(c), &c.name)
        );
    }
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP sdmd_stats_source Where resource figures come from.\n# TYPE sdmd_stats_source gauge\n\
         sdmd_stats_source{{source=\"{}\"}} 1\n\
         # HELP sdmd_stats_rounds_total Sampling rounds run.\n# TYPE sdmd_stats_rounds_total counter\n\
         sdmd_stats_rounds_total {}\n\
         # HELP sdmd_stats_round_seconds Time the sampling rounds took.\n# TYPE sdmd_stats_round_seconds summary\n\
         sdmd_stats_round_seconds_sum {:.6}\nsdmd_stats_round_seconds_count {}\n\
         # HELP sdmd_stats_last_round_seconds Time the last sampling round took.\n# TYPE sdmd_stats_last_round_seconds gauge\n\
         sdmd_stats_last_round_seconds {:.6}\n\
         # HELP sdmd_stats_write_failures_total Sampling rounds whose write to PostgreSQL failed.\n# TYPE sdmd_stats_write_failures_total counter\n\
         sdmd_stats_write_failures_total {}\n\
         # HELP sdmd_history_transitions_total Transitions this replica recorded.\n# TYPE sdmd_history_transitions_total counter\n\
         sdmd_history_transitions_total {}\n\
         # HELP sdmd_stats_rollups_total Rollup passes this replica ran.\n# TYPE sdmd_stats_rollups_total counter\n\
         sdmd_stats_rollups_total {}",
        o.source(),
        g(&o.rounds_total),
        g(&o.round_micros_total) as f64 / 1e6,
        g(&o.rounds_total),
        g(&o.last_round_micros) as f64 / 1e6,
        g(&o.write_failures),
        g(&o.transitions_recorded),
        g(&o.rollups_run),
    );
    let sizes = o
        .table_sizes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let _ = writeln!(
        out,
        "# HELP sdmd_stats_table_bytes Size of an observability table with its indexes (measured each minute).\n\
         # TYPE sdmd_stats_table_bytes gauge"
    );
    for (t, bytes, _) in &sizes {
        let _ = writeln!(out, "sdmd_stats_table_bytes{{table=\"{t}\"}} {bytes}");
    }
    let _ = writeln!(
        out,
        "# HELP sdmd_stats_table_rows Estimated rows of an observability table.\n\
         # TYPE sdmd_stats_table_rows gauge"
    );
    for (t, _, rows) in &sizes {
        let _ = writeln!(out, "sdmd_stats_table_rows{{table=\"{t}\"}} {rows}");
    }
    out
}
