//! Health, the event stream and the audit log.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::Query;
use crate::db::audit::{self, Entry};
use crate::state::AppState;

/// Routes that need authentication.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(list_audit))
        .routes(routes!(metrics))
        .routes(routes!(audit_csv))
}

/// Public routes.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// Reachability of what SDMD depends on. Anyone gets `status`; the other fields (which carry
/// error texts, the version and the certificate) only come with a valid bearer credential (a user
/// session or an API token, as the rest of the API authenticates).
#[derive(Serialize, ToSchema)]
pub struct ServerHealth {
    /// `ok` when Docker and the database answer, else `degraded`.
    pub status: String,
    /// Docker reachability (from the events stream). Authenticated callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<HealthComponent>,
    /// Database reachability. Authenticated callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<HealthComponent>,
    /// The resource sampler: where figures come from (`source`: `cgroup`, `engine` or `off`)
    /// and its interval. Authenticated callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsHealth>,
    /// SDMD's version. Authenticated callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The certificate's SHA-256 fingerprint when SDMD serves TLS itself (compare it with what
    /// your browser shows for the self-signed certificate). Authenticated callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
}

/// The sampler's part of the health answer.
#[derive(Serialize, ToSchema)]
pub struct StatsHealth {
    /// `cgroup` (the kernel's files), `engine` (Docker's one-shot stats) or `off`.
    pub source: sdmd_model::observe::StatsSource,
    /// Seconds between rounds (`null` when off).
    pub interval_seconds: Option<u64>,
    /// Rounds run so far.
    pub rounds: u64,
}

/// One dependency's reachability.
#[derive(Serialize, ToSchema)]
pub struct HealthComponent {
    /// Whether it answers.
    pub ok: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Liveness plus Docker and database reachability. Always 200 while the process serves, so an
/// orchestrator does not restart SDMD because Docker is down; read `status` for readiness.
/// Without a valid bearer token the answer is `{status}` only; with one it adds `docker`,
/// `database`, `version` and `tls_fingerprint`. An invalid token is not an error here: it just
/// gets the public answer.
#[utoipa::path(get, path = "/healthz", tag = "system",
    security((), ("bearer" = [])),
    responses((status = 200, body = ServerHealth)))]
async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> axum::Json<ServerHealth> {
    let db = state.database_reachable().await;
    let docker_ok = state.live.connected();
    let status = if docker_ok && db.is_ok() {
        "ok"
    } else {
        "degraded"
    }
    .to_owned();
    if !authenticated(&state, &headers, db.is_ok()).await {
        return axum::Json(ServerHealth {
            status,
            docker: None,
            database: None,
            stats: None,
            version: None,
            tls_fingerprint: None,
        });
    }
    axum::Json(ServerHealth {
        status,
        docker: Some(docker_health(&state, docker_ok).await),
        database: Some(HealthComponent {
            ok: db.is_ok(),
            error: db.err(),
        }),
        stats: Some(StatsHealth {
            source: state.observed.source(),
            interval_seconds: state.observed.config.interval.map(|d| d.as_secs()),
            rounds: state
                .observed
                .rounds_total
                .load(std::sync::atomic::Ordering::Relaxed),
        }),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        tls_fingerprint: state.tls_fingerprint.clone(),
    })
}

/// Whether the request carries a valid credential; with the database down none can be checked.
async fn authenticated(state: &AppState, headers: &HeaderMap, db_ok: bool) -> bool {
    match super::auth::bearer(headers) {
        Some(b) if db_ok => state.auth.authenticate(&state.db, &b).await.is_ok(),
        _ => false,
    }
}

/// Docker's part of the health answer: why it is down, while it is.
async fn docker_health(state: &AppState, ok: bool) -> HealthComponent {
    let error = if ok {
        None
    } else {
        state.live.last_error().await.or(Some("connecting".into()))
    };
    HealthComponent { ok, error }
}

/// Options of the event stream.
#[derive(Deserialize, IntoParams)]
struct EventsParams {
    /// Also send a `stats` event per sampling round: `all` (every container), or a service id
    /// (that service's containers only). Off by default.
    stats: Option<String>,
}

/// Server-sent events: `container_status`, `pull_progress`, `operation` and `audit`, each with a
/// JSON payload whose `type` repeats the event name; with `?stats=all` (or `?stats=<service>`)
/// also `stats`, one per sampling round ([`super::observe::StatsEvent`]). The credential is
/// re-checked every 30 s and at the token's `exp`; when it no longer holds (signed out, revoked,
/// expired) the stream ends with `event: error` and `{"code": "unauthorized", "message": …}`.
#[utoipa::path(get, path = "/api/v1/events", tag = "system", params(EventsParams),
    responses((status = 200, content_type = "text/event-stream", body = crate::events::Event)))]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<EventsParams>,
) -> Response {
    let stats = match p.stats.as_deref() {
        None | Some("" | "false" | "off") => None,
        Some("all" | "true") => Some(None),
        Some(service) => Some(Some(service.to_owned())),
    };
    let stats = match stats {
        Some(filter) => BroadcastStream::new(state.observed.subscribe())
            .filter_map(move |round| {
                let ev = round
                    .ok()
                    .and_then(|r| super::observe::StatsEvent::of(&r, filter.as_deref()))
                    .map(|e| {
                        Ok::<_, Infallible>(
                            SseEvent::default()
                                .event("stats")
                                .data(serde_json::to_string(&e).unwrap_or_default()),
                        )
                    });
                std::future::ready(ev)
            })
            .boxed(),
        None => futures_util::stream::pending().boxed(),
    };
    let stream = BroadcastStream::new(state.bus.subscribe())
        .map(|item| {
            let ev = match item {
                Ok(e) => SseEvent::default()
                    .event(e.kind())
                    .data(serde_json::to_string(&e).unwrap_or_default()),
                // The client fell behind: say so, so a dashboard can resync with a fresh list.
                Err(BroadcastStreamRecvError::Lagged(n)) => SseEvent::default()
                    .event("lagged")
                    .data(format!("{{\"type\":\"lagged\",\"missed\":{n}}}")),
            };
            Ok::<_, Infallible>(ev)
        })
        .boxed();
    let stream = futures_util::stream::select(stream, stats)
        .take_until(state.shutdown.clone().cancelled_owned());
    super::services::sse(super::stream_guard::guard(&state, &headers, stream)).into_response()
}

/// Audit log filters.
#[derive(Deserialize, IntoParams)]
struct AuditParams {
    /// Page size (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Cursor: only entries with a smaller id (pass the last id of the previous page).
    before: Option<i64>,
    /// Exact actor.
    actor: Option<String>,
    /// Action, exact or a prefix ending in `*` (e.g. `service.*`).
    action: Option<String>,
    /// Exact target.
    target: Option<String>,
    /// Entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
}

/// A page of audit entries.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The audit log, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    Query(p): Query<AuditParams>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit must be between 1 and 500.",
        ));
    }
    let filter = audit::Filter {
        before: p.before,
        actor: p.actor,
        action: p.action,
        target: p.target,
        since: p.since,
        until: p.until,
        limit,
    };
    let (entries, next_before) = crate::audit_log::page(&state, &filter).await?;
    Ok(axum::Json(AuditPage {
        entries,
        next_before,
    }))
}

/// Prometheus metrics of this replica: checks, updates by result, rollbacks, failures, update
/// durations, registry requests by kind, cache hits.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics(State(state): State<AppState>) -> Response {
    let containers = state.live.count().await;
    let mut body = crate::metrics::render(
        &state.metrics,
        &state.registry.counters,
        containers,
        state.live.connected(),
    );
    body.push_str(&crate::observe::render_metrics(&state).await);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// CSV export filters (as the JSON listing; `limit` defaults to 10000, at most 100000).
#[derive(Deserialize, IntoParams)]
struct AuditCsvParams {
    /// At most this many rows (the newest matching ones), default 10000.
    #[param(minimum = 1, maximum = 100000)]
    limit: Option<i64>,
    /// Cursor: only entries with a smaller id.
    before: Option<i64>,
    /// Exact actor.
    actor: Option<String>,
    /// Action, exact or a prefix ending in `*`.
    action: Option<String>,
    /// Exact target.
    target: Option<String>,
    /// Entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
}

/// The audit log as CSV (oldest first), with the same filters as `/api/v1/audit`, streamed.
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(AuditCsvParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)))]
async fn audit_csv(
    State(state): State<AppState>,
    Query(p): Query<AuditCsvParams>,
) -> Result<Response, ApiError> {
    let filter = csv_filter(p)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"sdmd-audit.csv\"",
            ),
        ],
        csv_body(&state, filter),
    )
        .into_response())
}

/// The export's filter; `limit` defaults to 10000 and is at most 100000.
fn csv_filter(p: AuditCsvParams) -> Result<audit::Filter, ApiError> {
    let limit = p.limit.unwrap_or(10_000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit must be between 1 and 100000.",
        ));
    }
    Ok(audit::Filter {
        before: p.before,
        actor: p.actor,
        action: p.action,
        target: p.target,
        since: p.since,
        until: p.until,
        limit,
    })
}

/// The CSV header line, then the rows streamed chunk by chunk (docs/api.md): never the whole
/// export in memory.
fn csv_body(state: &AppState, filter: audit::Filter) -> axum::body::Body {
    let header = bytes::Bytes::from_static(
        b"id,at,actor,action,target,result,request_id,client_ip,details,hash,client_request_id\r\n",
    );
    let rows = crate::audit_log::export(state, filter).map(|chunk| match chunk {
        Ok(rows) => Ok(csv_rows(&rows)),
        Err(e) => {
            tracing::error!(error = %e, "audit export failed mid-stream");
            Err(std::io::Error::other(e))
        }
    });
    let body = futures_util::stream::once(async { Ok::<_, std::io::Error>(header) }).chain(rows);
    axum::body::Body::from_stream(body)
}

/// CSV lines of audit rows.
fn csv_rows(rows: &[Entry]) -> bytes::Bytes {
    let mut out = String::new();
    for e in rows {
        let details = e
            .details
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default();
        let fields = [
            e.id.to_string(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone().unwrap_or_default(),
            e.result.clone(),
            e.request_id.clone().unwrap_or_default(),
            e.client_ip.clone().unwrap_or_default(),
            details,
            e.hash.clone().unwrap_or_default(),
            e.client_request_id.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    bytes::Bytes::from(out)
}

/// RFC 4180 quoting, and a leading `'` on cells a spreadsheet would run as a formula.
fn csv_field(f: &str) -> String {
    let guarded = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{f}")
    } else {
        f.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formula_safe() {
        for (input, expected) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=cmd()", "'=cmd()"),
            ("-1+1", "'-1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("line\nbreak", "\"line\nbreak\""),
        ] {
            assert_eq!(csv_field(input), expected, "{input}");
        }
    }
}
