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
use super::extract::{Audit, Json, Path, ProjectBody, Query};
use super::types::services::{
    ActionReport, ContainerLogs, FileContent, PullReport, RemoveReport, Schedule, ScheduleBody,
    ServiceView,
};
use super::types::updates::{CheckReport, Run, UpdateReport};
use crate::ops;
use crate::spec::Definition;
use crate::state::AppState;

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
        .routes(routes!(service_environment))
        .routes(routes!(list_files))
        .routes(routes!(read_file, put_file))
        .routes(routes!(adopt_service))
        .routes(routes!(list_revisions))
}

/// All services.
#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    /// Sorted by name; where several services share a name, managed before compose before
    /// container. Each item's `id` is unique and addresses it.
    pub services: Vec<ServiceView>,
}

/// List every service on the host, managed and unmanaged, with live status.
///
/// The answer carries an `ETag`; sent back as `If-None-Match`, it answers 304 while nothing in the
/// list changed.
#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = ServiceList,
            headers(("ETag" = String, description = "Tag of this list: the same while nothing in it changed"))),
        (status = 304, description = "Not modified: the list is still the one `If-None-Match` names",
            headers(("ETag" = String, description = "Tag of the current list"))),
        (status = 503, body = ErrorBody)))]
async fn list_services(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let list = ops::list_rendered(&state, |services| {
        let services = services.into_iter().map(Into::into).collect();
        serde_json::to_vec(&ServiceList { services }).map_err(super::etag::unrenderable)
    })
    .await?;
    Ok(super::etag::answer(&headers, list))
}

/// Store a new service definition (JSON, or a compose YAML document with `name`).
///
/// A name already held by a managed service answers 409 `name_taken`; one held by an unmanaged
/// compose project or container answers 409 `name_in_use_unmanaged`, whose `details` carry the
/// holder's `kind`, `id`, `containers` and the `adopt` path to import it instead.
#[utoipa::path(post, path = "/api/v1/services", tag = "services",
    request_body(content(
        (Definition = "application/json"),
        (Definition = "application/yaml")
    )),
    responses((status = 201, body = ServiceView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "`name_taken` (a managed service has the name) or `name_in_use_unmanaged` (an unmanaged compose project or container has it; adopt it instead)"),
        (status = 422, body = ErrorBody)))]
async fn create_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    ProjectBody(project, _): ProjectBody,
) -> Result<(StatusCode, axum::Json<ServiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(ops::create(&state, &ctx, project).await?.into()),
    ))
}

/// A service: definition, revision, containers and status.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "Service id from the list (`<name>`, `compose:<project>`, `container:<name>`) or bare name")),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
async fn get_service(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<ServiceView>, ApiError> {
    Ok(axum::Json(ops::get(&state, &name).await?.into()))
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
    ProjectBody(project, sent): ProjectBody,
) -> Result<axum::Json<ServiceView>, ApiError> {
    // A plain document keeps the current files; multipart or `files` replaces them.
    let view = if sent.0 {
        ops::replace(&state, &ctx, &name, project).await?
    } else {
        ops::replace_keeping_files(&state, &ctx, &name, project.source).await?
    };
    Ok(axum::Json(view.into()))
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
    responses((status = 200, body = RemoveReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn delete_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Query(p): Query<DeleteParams>,
) -> Result<axum::Json<RemoveReport>, ApiError> {
    Ok(axum::Json(
        ops::delete(&state, &ctx, &name, p.volumes).await?.into(),
    ))
}

/// Apply the current revision to Docker: recreates only members whose configuration changed.
#[utoipa::path(post, path = "/api/v1/services/{name}/deploy", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name"), DeployParams),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)"),
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
        ops::deploy(&state, &ctx, &name, &profiles).await?.into(),
    ))
}

/// Start the service's containers in dependency order.
#[utoipa::path(post, path = "/api/v1/services/{name}/start", tag = "lifecycle",
    params(("name" = String, Path, description = "Service id from the list (`<name>`, `compose:<project>`, `container:<name>`) or bare name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn start_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::start(&state, &ctx, &name).await?.into()))
}

/// Stop the service's containers in reverse dependency order.
#[utoipa::path(post, path = "/api/v1/services/{name}/stop", tag = "lifecycle",
    params(("name" = String, Path, description = "Service id from the list (`<name>`, `compose:<project>`, `container:<name>`) or bare name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn stop_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::stop(&state, &ctx, &name).await?.into()))
}

/// Stop (reverse order) and start (dependency order) the service's containers.
#[utoipa::path(post, path = "/api/v1/services/{name}/restart", tag = "lifecycle",
    params(("name" = String, Path, description = "Service id from the list (`<name>`, `compose:<project>`, `container:<name>`) or bare name")),
    responses((status = 200, body = ActionReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn restart_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<ActionReport>, ApiError> {
    Ok(axum::Json(ops::restart(&state, &ctx, &name).await?.into()))
}

/// Pull the service's images; progress streams on `/api/v1/events`.
#[utoipa::path(post, path = "/api/v1/services/{name}/pull", tag = "lifecycle",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = PullReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn pull_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<PullReport>, ApiError> {
    Ok(axum::Json(ops::pull(&state, &ctx, &name).await?.into()))
}

/// Check the registry (HEAD, cached), pull what changed, swap containers keeping the old ones
/// aside, gate on health and roll back on failure. `result` says which happened.
#[utoipa::path(post, path = "/api/v1/services/{name}/update", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = UpdateReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn update_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<UpdateReport>, ApiError> {
    Ok(axum::Json(
        crate::updates::update(&state, &ctx, &name, crate::updates::Trigger::Manual)
            .await?
            .into(),
    ))
}

/// Ask the registry whether the service's images have newer digests, without pulling.
#[utoipa::path(post, path = "/api/v1/services/{name}/check", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = CheckReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, `dependency_not_ready` or `docker_conflict` (a host port or container name in use)"),
        (status = 422, body = ErrorBody, description = "`docker_rejected`: the engine refused what the definition asks for (`details`: its message), or `validation_failed`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine or a registry failed (`details`: its message)")))]
async fn check_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<axum::Json<CheckReport>, ApiError> {
    Ok(axum::Json(
        crate::updates::check(&state, &ctx, &name, crate::updates::Trigger::Manual)
            .await?
            .into(),
    ))
}

/// The service's update schedule (a disabled default when none is stored).
#[utoipa::path(get, path = "/api/v1/services/{name}/schedule", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = Schedule), (status = 404, body = ErrorBody)))]
async fn get_schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<Schedule>, ApiError> {
    Ok(axum::Json(
        crate::schedule::get(&state, &name).await?.into(),
    ))
}

/// Set the service's daily or weekly update schedule (time of day in a time zone, DST-correct).
#[utoipa::path(put, path = "/api/v1/services/{name}/schedule", tag = "updates",
    params(("name" = String, Path, description = "Service name")),
    request_body = Schedule,
    responses((status = 200, body = Schedule), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_schedule(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Json(s): Json<ScheduleBody>,
) -> Result<axum::Json<Schedule>, ApiError> {
    Ok(axum::Json(
        crate::schedule::put(&state, &ctx, &name, s.into())
            .await?
            .into(),
    ))
}

/// History paging.
#[derive(Deserialize, IntoParams)]
struct HistoryParams {
    /// At most this many runs (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Update history: every check and update with its steps, digests, result and rollback reason.
#[utoipa::path(get, path = "/api/v1/services/{name}/updates", tag = "updates",
    params(("name" = String, Path, description = "Service name"), HistoryParams),
    responses((status = 200, body = Vec<Run>), (status = 400, body = ErrorBody)))]
async fn update_history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<axum::Json<Vec<Run>>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit must be between 1 and 500.",
        ));
    }
    Ok(axum::Json(
        crate::updates::history(&state, &name, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Options of a log read.
#[derive(Deserialize, IntoParams)]
struct LogParams {
    /// Lines per container (default 100, at most 10000).
    #[param(minimum = 0, maximum = 10000)]
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

/// The last N log lines per container; with `follow=true`, an SSE stream of new lines, which
/// ends with `event: error` (`{"code": "unauthorized"}`) once the credential no longer holds
/// (re-checked every 30 s and at the token's `exp`).
#[utoipa::path(get, path = "/api/v1/services/{name}/logs", tag = "services",
    params(("name" = String, Path, description = "Service id from the list (`<name>`, `compose:<project>`, `container:<name>`) or bare name"), LogParams),
    responses((status = 200, description = "JSON, or with follow=true an event stream of log lines", content(
            (LogsResponse = "application/json"),
            (FollowLine = "text/event-stream")
        )),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine failed (`details`: its message)")))]
async fn service_logs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<LogParams>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let tail = tail_of(&p)?;
    if !p.follow {
        return Ok(axum::Json(LogsResponse {
            containers: ops::logs(&state, &name, tail)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        })
        .into_response());
    }
    let merged =
        ops::follow_logs(&state, &name, tail)
            .await?
            .filter_map(|(container, line)| async move {
                let data = serde_json::to_string(&FollowLine { container, line }).ok()?;
                Some(Ok::<_, Infallible>(
                    SseEvent::default().event("log").data(data),
                ))
            });
    Ok(sse(super::stream_guard::guard(&state, &headers, merged)).into_response())
}

/// Lines per container a log read asks for: 100 by default, at most 10000.
fn tail_of(p: &LogParams) -> Result<u32, ApiError> {
    let tail = p.tail.unwrap_or(100);
    if tail > 10_000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "tail must be at most 10000.",
        ));
    }
    Ok(tail)
}

/// Wraps a stream as SSE with keep-alive comments.
pub fn sse<S>(stream: S) -> Sse<axum::response::sse::KeepAliveStream<S>>
where
    S: Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
{
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Options of an export.
#[derive(Deserialize, IntoParams)]
struct ExportParams {
    /// The effective document (interpolated, env files merged, sealed values masked) instead
    /// of the document as written.
    #[serde(default)]
    resolved: bool,
}

/// The stored document as compose YAML: as written (with its `${VAR}` text), or resolved.
#[utoipa::path(get, path = "/api/v1/services/{name}/compose", tag = "services",
    params(("name" = String, Path, description = "Service name"), ExportParams),
    responses((status = 200, content_type = "application/yaml", body = serde_json::Value, description = "The compose document (YAML)"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_compose(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let yaml = if params.resolved {
        ops::resolved_document(&state, &name).await?.to_yaml()
    } else {
        serde_norway::to_string(&ops::source_document(&state, &name).await?).unwrap_or_default()
    };
    Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response())
}

/// The effective environment of each member with the source of every value (`member`,
/// `env_file`, `dotenv`, `global`, `standard`), resolved with the variables of this moment, as a
/// deploy now would; values from sealed files or secret variables are `********`.
#[utoipa::path(get, path = "/api/v1/services/{name}/environment", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = super::types::variables::EnvironmentView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn service_environment(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<super::types::variables::EnvironmentView>, ApiError> {
    Ok(axum::Json(ops::environment(&state, &name).await?.into()))
}

/// The files of a service's project directory (paths, sizes, hashes; never content).
#[utoipa::path(get, path = "/api/v1/services/{name}/files", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = Vec<crate::project::FileInfo>), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_files(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<Vec<crate::project::FileInfo>>, ApiError> {
    Ok(axum::Json(ops::list_files(&state, &name).await?))
}

/// Options of a file read.
#[derive(Deserialize, IntoParams)]
struct RevealParams {
    /// Show a sealed file in clear (audited as `service.file.reveal`).
    #[serde(default)]
    reveal: bool,
}

/// One project file (`path` URL-encoded: `secrets%2Fdb_password`); sealed files are masked
/// unless `reveal=true`.
#[utoipa::path(get, path = "/api/v1/services/{name}/files/{path}", tag = "services",
    params(("name" = String, Path, description = "Service name"),
        ("path" = String, Path, description = "File path in the project, URL-encoded"), RevealParams),
    responses((status = 200, body = FileContent), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn read_file(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path((name, path)): Path<(String, String)>,
    Query(params): Query<RevealParams>,
) -> Result<axum::Json<FileContent>, ApiError> {
    Ok(axum::Json(
        ops::read_file(&state, &ctx, &name, &path, params.reveal)
            .await?
            .into(),
    ))
}

/// Replace or add one project file (the body is its content): stores a new revision.
#[utoipa::path(put, path = "/api/v1/services/{name}/files/{path}", tag = "services",
    params(("name" = String, Path, description = "Service name"),
        ("path" = String, Path, description = "File path in the project, URL-encoded")),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_file(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path((name, path)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<axum::Json<ServiceView>, ApiError> {
    Ok(axum::Json(
        ops::put_file(&state, &ctx, &name, &path, body.to_vec())
            .await?
            .into(),
    ))
}

/// Options of an adopt.
#[derive(Deserialize, IntoParams)]
struct AdoptParams {
    /// Adopt even when a container has settings the definition cannot express; the answer's
    /// `dropped` lists them (the first deploy will not reproduce them).
    #[serde(default)]
    accept_loss: bool,
}

/// Import an unmanaged service's definition from its containers. When a container has settings
/// a definition cannot express, answers 422 `adopt_would_lose_settings` listing each one
/// (`details`: `[{container, field, value, message}]`) and stores nothing, unless
/// `accept_loss=true`.
#[utoipa::path(post, path = "/api/v1/services/{name}/adopt", tag = "services",
    params(("name" = String, Path, description = "Id (`compose:<project>`, `container:<name>`) or bare name of the unmanaged service"), AdoptParams),
    responses((status = 201, body = ServiceView, description = "Adopted; `dropped` lists what the definition does not carry (only with accept_loss)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine failed (`details`: its message)"),
        (status = 422, body = ErrorBody, description = "`adopt_would_lose_settings` (details: `[{container, field, value, message}]`) or `validation_failed`")))]
async fn adopt_service(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Query(params): Query<AdoptParams>,
) -> Result<(StatusCode, axum::Json<ServiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(
            ops::adopt_address(&state, &ctx, &name, params.accept_loss)
                .await?
                .into(),
        ),
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
    Ok(axum::Json(
        ops::revisions(&state, &name)
            .await?
            .into_iter()
            .map(|r| RevisionView {
                revision: r.revision,
                created_by: r.created_by,
                created_at: r.created_at,
                definition: r.definition.0,
            })
            .collect(),
    ))
}
