//! Observability: a service's status/health history and resource samples, and the host
//! overview (live figures of every service with sparkline trails, top consumers).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use crate::observe;
use crate::state::AppState;
use sdmd_model::observe::{ServiceHistory, ServiceStats, StatsSource};

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(service_history))
        .routes(routes!(service_stats))
        .routes(routes!(host_stats))
}

/// A time range (RFC 3339); `to` defaults to now, `from` to 24 h before `to`.
#[derive(Deserialize, IntoParams)]
struct RangeParams {
    /// Start (RFC 3339); default 24 h before `to`.
    from: Option<DateTime<Utc>>,
    /// End (RFC 3339); default now.
    to: Option<DateTime<Utc>>,
}

/// A stats range and bucket width.
#[derive(Deserialize, IntoParams)]
struct StatsParams {
    /// Start (RFC 3339); default 1 h before `to`.
    from: Option<DateTime<Utc>>,
    /// End (RFC 3339); default now.
    to: Option<DateTime<Utc>>,
    /// Bucket width in seconds (at least the sampling interval, and the table's row width: 60
    /// past 24 h, 900 past 7 days); default about 300 points over the range.
    #[param(minimum = 1, maximum = 86400)]
    step: Option<i64>,
}

/// The longest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 400;

fn range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    default: TimeDelta,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_range", m);
    let in_range = |t: &DateTime<Utc>| (1970..=9999).contains(&chrono::Datelike::year(t));
    if !from.iter().chain(to.iter()).all(in_range) {
        return Err(bad(
            "`from` and `to` must lie between the years 1970 and 9999.",
        ));
    }
    let to = to.unwrap_or_else(Utc::now);
    let from = match from {
        Some(f) => f,
        None => to
            .checked_sub_signed(default)
            .ok_or_else(|| bad("`to` is too early."))?,
    };
    // An empty range (`from` = `to`) is valid and answers nothing; an inverted one is a mistake.
    if from > to {
        return Err(bad("`from` must not be after `to`."));
    }
    if to - from > TimeDelta::days(MAX_RANGE_DAYS) {
        return Err(bad("The range may span at most 400 days."));
    }
    Ok((from, to))
}

/// Every state and health transition of the service's containers in the range (oldest first,
/// at most 5000: the newest are kept and `truncated` is set), recorded from Docker's events
/// (`from`/`to` state or health, exit code, OOM kill, the last probe's output for health), with
/// uptime over the last 24 h / 7 d / 30 d and the latest failure.
#[utoipa::path(get, path = "/api/v1/services/{name}/history", tag = "observability",
    params(("name" = String, Path, description = "Service name or id"), RangeParams),
    responses((status = 200, body = ServiceHistory),
        (status = 400, body = ErrorBody, description = "`invalid_range`"),
        (status = 404, body = ErrorBody)))]
async fn service_history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<RangeParams>,
) -> Result<axum::Json<ServiceHistory>, ApiError> {
    let (from, to) = range(p.from, p.to, TimeDelta::hours(24))?;
    Ok(axum::Json(observe::history(&state, &name, from, to).await?))
}

/// Resource samples of the service's containers in the range, per container, averaged into
/// buckets of `step` seconds (`cpu_percent_max`/`memory_bytes_max`: the bucket's peaks). Read
/// from the finest table that still covers `from` (full resolution 24 h, minutes 7 days,
/// quarter hours 90 days; `resolution` says which).
#[utoipa::path(get, path = "/api/v1/services/{name}/stats", tag = "observability",
    params(("name" = String, Path, description = "Service name or id"), StatsParams),
    responses((status = 200, body = ServiceStats),
        (status = 400, body = ErrorBody, description = "`invalid_range`"),
        (status = 404, body = ErrorBody)))]
async fn service_stats(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<StatsParams>,
) -> Result<axum::Json<ServiceStats>, ApiError> {
    let (from, to) = range(p.from, p.to, TimeDelta::hours(1))?;
    if let Some(step) = p.step
        && !(1..=86_400).contains(&step)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_range",
            "`step` must be between 1 and 86400 seconds.",
        ));
    }
    Ok(axum::Json(
        observe::stats(&state, &name, from, to, p.step).await?,
    ))
}

/// The host and its containers now.
#[derive(Serialize, ToSchema)]
pub struct HostStats {
    /// Where figures come from (`cgroup`, `engine`, `off`).
    pub source: StatsSource,
    /// The sampling interval, seconds (`null` when off).
    pub interval_seconds: Option<u64>,
    /// When the figures were read (`null` before the first round).
    pub at: Option<DateTime<Utc>>,
    /// The host's CPUs.
    pub host_cpus: u32,
    /// The host's memory, bytes.
    pub host_memory_bytes: u64,
    /// The host's CPU use, percent of all its CPUs (`null` when `/proc/stat` is not readable).
    pub host_cpu_percent: Option<f64>,
    /// All running containers' CPU, percent of one core.
    pub containers_cpu_percent: f64,
    /// All running containers' memory (page cache excluded), bytes.
    pub containers_memory_bytes: u64,
    /// How long the last sampling round took, milliseconds.
    pub last_round_ms: f64,
    /// Per service with running containers, busiest first.
    pub services: Vec<ServiceNow>,
    /// The five containers using the most CPU, then the five using the most memory.
    pub top_cpu: Vec<ContainerNow>,
    /// The five containers using the most memory.
    pub top_memory: Vec<ContainerNow>,
}

/// One service's figures now.
#[derive(Serialize, ToSchema)]
pub struct ServiceNow {
    /// The service id (a name, `compose:<project>` or `container:<name>`).
    pub service: String,
    /// CPU of its running containers, percent of one core.
    pub cpu_percent: f64,
    /// Their memory, bytes.
    pub memory_bytes: u64,
    /// The sum of their limits (host memory for each unlimited one), bytes.
    pub memory_limit_bytes: u64,
    /// Running containers read.
    pub containers: usize,
    /// The last readings' CPU percent, oldest first (for a sparkline).
    pub cpu_trail: Vec<f64>,
    /// The last readings' memory bytes, oldest first.
    pub memory_trail: Vec<u64>,
}

/// One container's figures now.
#[derive(Serialize, ToSchema)]
pub struct ContainerNow {
    /// Its service id.
    pub service: String,
    /// Its member.
    pub member: String,
    /// Its name.
    pub container: String,
    /// CPU, percent of one core.
    pub cpu_percent: f64,
    /// Memory, bytes.
    pub memory_bytes: u64,
}

/// Live figures of the host and every running container, from the sampler's latest round
/// (memory, no database read): per service with sparkline trails, and the top consumers.
#[utoipa::path(get, path = "/api/v1/stats", tag = "observability",
    responses((status = 200, body = HostStats)))]
async fn host_stats(State(state): State<AppState>) -> axum::Json<HostStats> {
    axum::Json(host_now(&state).await)
}

/// Adds `points` to `trail` point by point, aligned at the newest (a shorter trail is padded
/// with zeros at its old end).
fn add_aligned<T: Copy + Default + std::ops::AddAssign>(
    trail: &mut Vec<T>,
    points: impl ExactSizeIterator<Item = T>,
) {
    if trail.len() < points.len() {
        let pad = points.len() - trail.len();
        trail.splice(0..0, std::iter::repeat_n(T::default(), pad));
    }
    let off = trail.len() - points.len();
    for (slot, p) in trail[off..].iter_mut().zip(points) {
        *slot += p;
    }
}

/// The host overview from memory.
pub async fn host_now(state: &AppState) -> HostStats {
    use std::collections::BTreeMap;
    let o = &state.observed;
    let latest = o.latest().await;
    let host = o.host();
    let mut services: BTreeMap<String, ServiceNow> = BTreeMap::new();
    for l in &latest {
        let s = services
            .entry(l.service.clone())
            .or_insert_with(|| ServiceNow {
                service: l.service.clone(),
                cpu_percent: 0.0,
                memory_bytes: 0,
                memory_limit_bytes: 0,
                containers: 0,
                cpu_trail: Vec::new(),
                memory_trail: Vec::new(),
            });
        s.cpu_percent += l.reading.cpu_percent;
        s.memory_bytes += l.reading.memory_bytes;
        s.memory_limit_bytes += l.reading.memory_limit_bytes;
        s.containers += 1;
        add_aligned(&mut s.cpu_trail, l.trail.iter().map(|t| t.0));
        add_aligned(&mut s.memory_trail, l.trail.iter().map(|t| t.1));
    }
    let mut services: Vec<ServiceNow> = services.into_values().collect();
    services.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    let now = |l: &observe::Latest| ContainerNow {
        service: l.service.clone(),
        member: l.member.clone(),
        container: l.container.clone(),
        cpu_percent: l.reading.cpu_percent,
        memory_bytes: l.reading.memory_bytes,
    };
    let mut by_cpu: Vec<&observe::Latest> = latest.iter().collect();
    by_cpu.sort_by(|a, b| b.reading.cpu_percent.total_cmp(&a.reading.cpu_percent));
    let mut by_mem: Vec<&observe::Latest> = latest.iter().collect();
    by_mem.sort_by_key(|l| std::cmp::Reverse(l.reading.memory_bytes));
    HostStats {
        source: o.source(),
        interval_seconds: o.config.interval.map(|d| d.as_secs()),
        at: latest.iter().map(|l| l.at).max(),
        host_cpus: host.cpus,
        host_memory_bytes: host.memory_bytes,
        host_cpu_percent: host.cpu_percent,
        containers_cpu_percent: latest.iter().map(|l| l.reading.cpu_percent).sum(),
        containers_memory_bytes: latest.iter().map(|l| l.reading.memory_bytes).sum(),
        last_round_ms: o
            .last_round_micros
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1000.0,
        services,
        top_cpu: by_cpu.into_iter().take(5).map(now).collect(),
        top_memory: by_mem.into_iter().take(5).map(now).collect(),
    }
}

/// A `stats` event of `GET /api/v1/events?stats=…`: one sampling round.
#[derive(Serialize, ToSchema)]
pub struct StatsEvent {
    /// Always `stats`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The round's instant.
    pub at: DateTime<Utc>,
    /// Each container read (of the asked service, when one was named).
    pub containers: Vec<LiveSample>,
}

/// One container in a `stats` event.
#[derive(Serialize, ToSchema)]
pub struct LiveSample {
    /// Its service id.
    pub service: String,
    /// Its member.
    pub member: String,
    /// Its name.
    pub container: String,
    /// Its id.
    pub container_id: String,
    /// CPU, percent of one core.
    pub cpu_percent: f64,
    /// Memory without page cache, bytes.
    pub memory_bytes: u64,
    /// The limit (host memory when unlimited), bytes.
    pub memory_limit_bytes: u64,
    /// Received bytes per second (`null`: unknown, host network).
    pub net_rx_bytes_per_s: Option<f64>,
    /// Sent bytes per second.
    pub net_tx_bytes_per_s: Option<f64>,
    /// Block reads, bytes per second.
    pub block_read_bytes_per_s: f64,
    /// Block writes, bytes per second.
    pub block_write_bytes_per_s: f64,
    /// Processes and threads.
    pub pids: u64,
}

impl StatsEvent {
    /// The event for `round`, only `service`'s containers when named; `None` when none is left.
    pub fn of(round: &observe::Round, service: Option<&str>) -> Option<Self> {
        let containers: Vec<LiveSample> = round
            .readings
            .iter()
            .filter(|(s, ..)| service.is_none_or(|want| want == s))
            .map(|(service, member, container, r)| LiveSample {
                service: service.clone(),
                member: member.clone(),
                container: container.clone(),
                container_id: r.container_id.clone(),
                cpu_percent: r.cpu_percent,
                memory_bytes: r.memory_bytes,
                memory_limit_bytes: r.memory_limit_bytes,
                net_rx_bytes_per_s: r.net_rx_bytes_per_s,
                net_tx_bytes_per_s: r.net_tx_bytes_per_s,
                block_read_bytes_per_s: r.block_read_bytes_per_s,
                block_write_bytes_per_s: r.block_write_bytes_per_s,
                pids: r.pids,
            })
            .collect();
        (!containers.is_empty() || service.is_none()).then_some(Self {
            kind: "stats",
            at: round.at,
            containers,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trails_add_up_aligned_at_the_newest() {
        let mut t: Vec<u64> = vec![1, 2];
        super::add_aligned(&mut t, [10u64, 20, 30].into_iter());
        assert_eq!(t, vec![10, 21, 32]);
        super::add_aligned(&mut t, [5u64].into_iter());
        assert_eq!(t, vec![10, 21, 37]);
    }
}
