//! `/api/v1/services`: definitions, lifecycle, logs, export and adoption.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, DefinitionBody, Json, Path, Query};
use crate::ops::{self, ActionReport, ContainerLogs, PullReport, RemoveReport, ServiceView};
use crate::spec::Definition;
use crate::state::AppState;
use crate::updates::{CheckReport, UpdateReport};

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, replace_service, delete_service))
        .routes(routes!(deploy_service))
        .routes(routes!(start_service))
        .routes(routes!(stop_service))
        .routes(routes!(restart_service))
        .routes(routes!(pull_service))
        .routes(routes!(update_service))
        .routes(routes!(check_service))
        .routes(routes!(update_history))
        .routes(routes!(get_schedule, put_schedule))
        .routes(routes!(service_logs))
        .routes(routes!(export_compose))
        .routes(routes!(adopt_service))
        .routes(routes!(list_revisions))
}

/// All services.
#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    /// Managed services first by name, then unmanaged groups.
    pub services: Vec<ServiceView>,
}

/// List every service on the host, managed and unmanaged, with live status.
#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = ServiceList), (status = 503, body = ErrorBody)))]
async fn list_services(State(state): State<AppState>) -> Result<axum::Json<ServiceList>, ApiError> {
    Ok(axum::Json(ServiceList {
        services: ops::list(&state).await?,
    }))
}

/// Store a new service definition (JSON, or a compose YAML document with `name`).
#[utoipa::path(post, path = "/api/v1/services", tag = "services",
    request_body(content(
        (Definition = "application/json"),
        (Definition = "application/yaml")
    )),
    responses((status = 201, body = ServiceView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    DefinitionBody(def): DefinitionBody,
) -> Result<(StatusCode, axum::Json<ServiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(ops::create(&state, &ctx, def).await?),
    ))
}

/// A service: definition, revision, containers and status.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
async fn get_service(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<ServiceView>, ApiError> {
    Ok(axum::Json(ops::get(&state, &name).await?))
}

/// Store a new revision of a service's definition (deploy applies it).
#[utoipa::path(put, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    request_body(content(
        (Definition = "application/json"),
        (Definition = "application/yaml")
    )),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    DefinitionBody(def): DefinitionBody,
) -> Result<axum::Json<ServiceView>, ApiError> {
    Ok(axum::Json(ops::replace(&state, &ctx, &name, def).await?))
}

/// Options of a deploy.
#[derive(Deserialize, IntoParams)]
struct DeployParams {
    /// Comma-separated profiles to enable (`*` = all); members in other profiles are skipped.
    #[serde(default)]
    profiles: Option<String>,
}

/// Options of a delete.
#[derive(Deserialize, IntoParams)]
struct DeleteParams {
    /// Also remove the service's named volumes (their data is lost).
    #[serde(default)]
    volumes: bool,
}

/// Remove a service's containers and network (and volumes with `volumes=true`), then its definition.
#[utoipa::path(delete, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "Service name"), DeleteParams),
    responses((status = 200, body = RemoveReport), (status = 404, body = ErrorBody)))]
async fn delete_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Query(p): Query<DeleteParams>,
) -> Result<axum::Json<RemoveReport>, ApiError> {
    Ok(axum::Json(
        ops::delete(&state, &ctx, &name, p.volumes).await?,
    ))
}

/// Apply the current revision to Docker: recreates only members whose configuration changed.
#[utoipa::path(post, path = "/api/v1/services/{name}/deploy", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name"), DeployParams),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn deploy_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Query(p): Query<DeployParams>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    let profiles: Vec<String> = p
        .profiles
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(axum::Json(
        ops::deploy(&state, &ctx, &name, &profiles).await?,
    ))
}

/// Start the service's containers in dependency order.
#[utoipa::path(post, path = "/api/v1/services/{name}/start", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody)))]
async fn start_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::start(&state, &ctx, &name).await?))
}

/// Stop the service's containers in reverse dependency order.
#[utoipa::path(post, path = "/api/v1/services/{name}/stop", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody)))]
async fn stop_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::stop(&state, &ctx, &name).await?))
}

/// Stop (reverse order) and start (dependency order) the service's containers.
#[utoipa::path(post, path = "/api/v1/services/{name}/restart", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody)))]
async fn restart_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::restart(&state, &ctx, &name).await?))
}

/// Pull the service's images; progress streams on `/api/v1/events`.
#[utoipa::path(post, path = "/api/v1/services/{name}/pull", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = PullReport), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn pull_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<PullReport>, ApiError> {
    Ok(axum::Json(ops::pull(&state, &ctx, &name).await?))
}

/// Check the registry (HEAD, cached), pull what changed, swap containers keeping the old ones
/// aside, gate on health and roll back on failure. `result` says which happened.
#[utoipa::path(post, path = "/api/v1/services/{name}/update", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = UpdateReport), (status = 404, body = ErrorBody)))]
async fn update_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<UpdateReport>, ApiError> {
    Ok(axum::Json(
        crate::updates::update(&state, &ctx, &name, "manual").await?,
    ))
}

/// Ask the registry whether the service's images have newer digests, without pulling.
#[utoipa::path(post, path = "/api/v1/services/{name}/check", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = CheckReport), (status = 404, body = ErrorBody)))]
async fn check_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<CheckReport>, ApiError> {
    Ok(axum::Json(
        crate::updates::check(&state, &ctx, &name, "manual").await?,
    ))
}

/// The service's update schedule (a disabled default when none is stored).
#[utoipa::path(get, path = "/api/v1/services/{name}/schedule", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = crate::schedule::Schedule), (status = 404, body = ErrorBody)))]
async fn get_schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<crate::schedule::Schedule>, ApiError> {
    Ok(axum::Json(crate::schedule::get(&state, &name).await?))
}

/// Set the service's daily or weekly update schedule (time of day in a time zone, DST-correct).
#[utoipa::path(put, path = "/api/v1/services/{name}/schedule", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    request_body = crate::schedule::Schedule,
    responses((status = 200, body = crate::schedule::Schedule), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_schedule(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Json(s): Json<crate::schedule::Schedule>,
) -> Result<axum::Json<crate::schedule::Schedule>, ApiError> {
    Ok(axum::Json(
        crate::schedule::put(&state, &ctx, &name, s).await?,
    ))
}

/// History paging.
#[derive(Deserialize, IntoParams)]
struct HistoryParams {
    /// At most this many runs (default 50, at most 500).
    limit: Option<i64>,
}

/// Update history: every check and update with its steps, digests, result and rollback reason.
#[utoipa::path(get, path = "/api/v1/services/{name}/updates", tag = "updates",
    params(("name" = String, Path, description = "Service name"), HistoryParams),
    responses((status = 200, body = Vec<crate::db::updates::Run>), (status = 400, body = ErrorBody)))]
async fn update_history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<axum::Json<Vec<crate::db::updates::Run>>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit must be between 1 and 500.",
        ));
    }
    Ok(axum::Json(
        crate::db::updates::list(&state.db, &name, limit).await?,
    ))
}

/// Options of a log read.
#[derive(Deserialize, IntoParams)]
struct LogParams {
    /// Lines per container (default 100, at most 10000).
    tail: Option<u32>,
    /// Keep streaming new lines as server-sent events.
    #[serde(default)]
    follow: bool,
}

/// Log lines of every container of the service.
#[derive(Serialize, ToSchema)]
pub struct LogsResponse {
    /// One entry per container.
    pub containers: Vec<ContainerLogs>,
}

/// One line on the follow stream (SSE event `log`).
#[derive(Serialize, ToSchema)]
pub struct FollowLine {
    /// Container name.
    pub container: String,
    /// The line.
    #[serde(flatten)]
    pub line: crate::docker::LogLine,
}

/// The last N log lines per container; with `follow=true`, an SSE stream of new lines.
#[utoipa::path(get, path = "/api/v1/services/{name}/logs", tag = "services",
    params(("name" = String, Path, description = "Service name"), LogParams),
    responses((status = 200, body = LogsResponse, description = "JSON, or text/event-stream with follow=true"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn service_logs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<LogParams>,
) -> Result<Response, ApiError> {
    let tail = p.tail.unwrap_or(100);
    if tail > 10_000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "tail must be at most 10000.",
        ));
    }
    if !p.follow {
        return Ok(axum::Json(LogsResponse {
            containers: ops::logs(&state, &name, tail).await?,
        })
        .into_response());
    }
    let mut streams = Vec::new();
    for (_, c) in ops::log_targets(&state, &name).await? {
        let container = c.name.clone();
        let s = state
            .docker
            .logs(&c.id, tail, true)
            .await
            .map_err(crate::error::Error::from)?;
        streams.push(s.map(move |l| (container.clone(), l)).boxed());
    }
    let merged = futures_util::stream::select_all(streams)
        .filter_map(|(container, line)| async move {
            let line = line.ok()?;
            let data = serde_json::to_string(&FollowLine { container, line }).ok()?;
            Some(Ok::<_, Infallible>(
                SseEvent::default().event("log").data(data),
            ))
        })
        .take_until(state.shutdown.clone().cancelled_owned());
    Ok(sse(merged).into_response())
}

/// Wraps a stream as SSE with keep-alive comments.
pub fn sse<S>(stream: S) -> Sse<axum::response::sse::KeepAliveStream<S>>
where
    S: Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
{
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The stored definition as a compose YAML document.
#[utoipa::path(get, path = "/api/v1/services/{name}/compose", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, content_type = "application/yaml", body = String), (status = 404, body = ErrorBody)))]
async fn export_compose(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let view = ops::get(&state, &name).await?;
    let def = view
        .definition
        .ok_or(crate::error::Error::Unmanaged(name))?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], def.to_yaml()).into_response())
}

/// Import an unmanaged service's definition from its containers.
#[utoipa::path(post, path = "/api/v1/services/{name}/adopt", tag = "services",
    params(("name" = String, Path, description = "Name of the unmanaged service")),
    responses((status = 201, body = ServiceView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn adopt_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<(StatusCode, axum::Json<ServiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(ops::adopt(&state, &ctx, &name).await?),
    ))
}

/// One stored revision.
#[derive(Serialize, ToSchema)]
pub struct RevisionView {
    /// Revision number.
    pub revision: i32,
    /// Who stored it.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The definition.
    pub definition: Definition,
}

/// All revisions of a service's definition, newest first.
#[utoipa::path(get, path = "/api/v1/services/{name}/revisions", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = Vec<RevisionView>), (status = 404, body = ErrorBody)))]
async fn list_revisions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<Vec<RevisionView>>, ApiError> {
    let revs = crate::db::services::revisions(&state.db, &name).await?;
    if revs.is_empty() {
        return Err(crate::error::Error::ServiceNotFound(name).into());
    }
    Ok(axum::Json(
        revs.into_iter()
            .map(|r| RevisionView {
                revision: r.revision,
                created_by: r.created_by,
                created_at: r.created_at,
                definition: r.definition.0,
            })
            .collect(),
    ))
}
