//! `/api/v1/plugins`: upload, list, get, grant/configure/enable, delete and test-invoke plugins;
//! `/api/v1/services/{name}/plugins` and `/api/v1/notifiers`: which plugins are used where.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json, Path};
use super::types::plugins::{
    GlobalNotifiers, InvokeResult, PluginDetail, PluginPatch, PluginView, ServicePlugins,
};
use crate::plugins::store::{self, StoreError};
use crate::plugins::{MAX_WASM_BYTES, PluginError};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .routes(routes!(get_plugin, update_plugin, delete_plugin))
        .routes(routes!(invoke_plugin))
        .routes(routes!(get_service_plugins, put_service_plugins))
        .routes(routes!(get_global_notifiers, put_global_notifiers))
        // Components of other languages are 12–20 MB; the limit is checked again by validation.
        .layer(DefaultBodyLimit::max(MAX_WASM_BYTES + 64 * 1024))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "plugin_not_found", message)
            }
            StoreError::ServiceNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "service_not_found", message)
            }
            StoreError::InUse { users, .. } => {
                ApiError::new(StatusCode::CONFLICT, "plugin_in_use", message)
                    .with_details(serde_json::json!({ "used_by": users }))
            }
            StoreError::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            ),
            StoreError::Plugin(p) => {
                let code = store::error_code(&p);
                match p {
                    PluginError::Internal(d) => {
                        tracing::error!(error = %d, "plugin runtime error");
                        ApiError::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "internal",
                            "An internal error occurred.",
                        )
                    }
                    PluginError::NotGranted { ref missing, .. } => {
                        let missing = serde_json::to_value(missing).unwrap_or_default();
                        ApiError::new(StatusCode::CONFLICT, code, message)
                            .with_details(serde_json::json!({ "missing_grants": missing }))
                    }
                    _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
                }
            }
            StoreError::Database(db) => crate::error::Error::Database(db).into(),
        }
    }
}

/// All plugins.
#[derive(serde::Serialize, ToSchema)]
pub struct PluginList {
    /// By id.
    pub plugins: Vec<PluginView>,
}

/// List plugins with their grants, settings and state.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", responses((status = 200, body = PluginList)))]
async fn list_plugins(State(state): State<AppState>) -> Result<axum::Json<PluginList>, ApiError> {
    Ok(axum::Json(PluginList {
        plugins: store::list(&state)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// Upload a plugin component (`application/wasm`, ≤ 20 MiB, manifest embedded as the `sdmd-manifest`
/// section). A new id is created disabled with nothing granted (201); a known id gets a new version (200).
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins",
    request_body(content(
        (Vec<u8> = "application/wasm"),
        (Vec<u8> = "application/octet-stream")
    )),
    responses((status = 201, body = PluginView), (status = 200, body = PluginView),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_plugin(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<PluginView>), ApiError> {
    require_wasm(&headers)?;
    let (created, view) = store::upload(&state, &ctx, body.to_vec()).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        axum::Json(view.into()),
    ))
}

/// Refuses a body that is not sent as a component (`application/wasm` or `octet-stream`).
fn require_wasm(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let ct = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if ct != "application/wasm" && ct != "application/octet-stream" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the component as application/wasm.",
        ));
    }
    Ok(())
}

/// A plugin with its versions and the services using it.
#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins",
    params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, body = PluginDetail), (status = 404, body = ErrorBody)))]
async fn get_plugin(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<PluginDetail>, ApiError> {
    Ok(axum::Json(store::get(&state, &id).await?.into()))
}

/// Grant, configure, limit, enable/disable, or switch the version of a plugin. Enabling needs every
/// declared capability granted (409 `not_granted` otherwise); settings are validated against the schema.
#[utoipa::path(patch, path = "/api/v1/plugins/{id}", tag = "plugins",
    params(("id" = String, Path, description = "Plugin id")),
    request_body = PluginPatch,
    responses((status = 200, body = PluginView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_plugin(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(id): Path<String>,
    Json(patch): Json<PluginPatch>,
) -> Result<axum::Json<PluginView>, ApiError> {
    Ok(axum::Json(
        store::update(&state, &ctx, &id, patch.into()).await?.into(),
    ))
}

/// Delete a plugin and all its versions (409 while a service uses it).
#[utoipa::path(delete, path = "/api/v1/plugins/{id}", tag = "plugins",
    params(("id" = String, Path, description = "Plugin id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_plugin(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    store::delete(&state, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sample input for a test run.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// Input in the shape of the plugin's kind (strategy input, health input or event).
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
}

/// Run a plugin on sample input in the sandbox with its stored grants and settings: output or error, its
/// log lines and the duration. A plugin failure is a 200 with `error` set (the test worked).
#[utoipa::path(post, path = "/api/v1/plugins/{id}/invoke", tag = "plugins",
    params(("id" = String, Path, description = "Plugin id")),
    request_body = InvokeRequest,
    responses((status = 200, body = InvokeResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn invoke_plugin(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(id): Path<String>,
    Json(req): Json<InvokeRequest>,
) -> Result<axum::Json<InvokeResult>, ApiError> {
    Ok(axum::Json(
        store::invoke(&state, &ctx, &id, req.input).await?.into(),
    ))
}

/// The plugins a service uses: its strategy (null = built-in `digest`), health checks and notifiers.
#[utoipa::path(get, path = "/api/v1/services/{name}/plugins", tag = "plugins",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = ServicePlugins), (status = 404, body = ErrorBody)))]
async fn get_service_plugins(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<ServicePlugins>, ApiError> {
    Ok(axum::Json(
        store::service_plugins(&state, &name).await?.into(),
    ))
}

/// Replace the plugins a service uses (each must exist and be of the right kind).
#[utoipa::path(put, path = "/api/v1/services/{name}/plugins", tag = "plugins",
    params(("name" = String, Path, description = "Service name")),
    request_body = ServicePlugins,
    responses((status = 200, body = ServicePlugins), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_service_plugins(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Json(body): Json<ServicePlugins>,
) -> Result<axum::Json<ServicePlugins>, ApiError> {
    Ok(axum::Json(
        store::set_service_plugins(&state, &ctx, &name, body.into())
            .await?
            .into(),
    ))
}

/// The notifiers told about every service.
#[utoipa::path(get, path = "/api/v1/notifiers", tag = "plugins", responses((status = 200, body = GlobalNotifiers)))]
async fn get_global_notifiers(
    State(state): State<AppState>,
) -> Result<axum::Json<GlobalNotifiers>, ApiError> {
    Ok(axum::Json(store::global_notifiers(&state).await?.into()))
}

/// Replace the global notifiers.
#[utoipa::path(put, path = "/api/v1/notifiers", tag = "plugins",
    request_body = GlobalNotifiers,
    responses((status = 200, body = GlobalNotifiers), (status = 422, body = ErrorBody)))]
async fn put_global_notifiers(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Json(body): Json<GlobalNotifiers>,
) -> Result<axum::Json<GlobalNotifiers>, ApiError> {
    Ok(axum::Json(
        store::set_global_notifiers(&state, &ctx, body.into())
            .await?
            .into(),
    ))
}
