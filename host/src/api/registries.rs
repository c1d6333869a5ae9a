//! `/api/v1/registries`: credentials for private registries (stored sealed, never shown again).

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json, Path};
use super::types::registries::{NewCredentials, RegistryView};
use crate::credentials;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_registries))
        .routes(routes!(get_registry, put_registry, delete_registry))
}

/// Registries with stored credentials (user names only).
#[utoipa::path(get, path = "/api/v1/registries", tag = "updates",
    responses((status = 200, body = Vec<RegistryView>)))]
async fn list_registries(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<RegistryView>>, ApiError> {
    Ok(axum::Json(
        credentials::list(&state)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One registry's stored credentials (user name only).
#[utoipa::path(get, path = "/api/v1/registries/{host}", tag = "updates",
    params(("host" = String, Path, description = "Registry host, e.g. ghcr.io or 127.0.0.1:5000")),
    responses((status = 200, body = RegistryView), (status = 404, body = ErrorBody)))]
async fn get_registry(
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<axum::Json<RegistryView>, ApiError> {
    Ok(axum::Json(credentials::get(&state, &host).await?.into()))
}

/// Store credentials for a registry (used for checks and pulls); the password is sealed with
/// `SDMD_SECRET_KEY` and never returned.
#[utoipa::path(put, path = "/api/v1/registries/{host}", tag = "updates",
    params(("host" = String, Path, description = "Registry host", pattern = "^[A-Za-z0-9.:\\[\\]-]{1,253}$")),
    request_body = NewCredentials,
    responses((status = 200, body = RegistryView), (status = 422, body = ErrorBody)))]
async fn put_registry(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(host): Path<String>,
    Json(c): Json<NewCredentials>,
) -> Result<axum::Json<RegistryView>, ApiError> {
    Ok(axum::Json(
        credentials::put(&state, &ctx, &host, c.into())
            .await?
            .into(),
    ))
}

/// Forget a registry's credentials.
#[utoipa::path(delete, path = "/api/v1/registries/{host}", tag = "updates",
    params(("host" = String, Path, description = "Registry host")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_registry(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(host): Path<String>,
) -> Result<StatusCode, ApiError> {
    credentials::delete(&state, &ctx, &host).await?;
    Ok(StatusCode::NO_CONTENT)
}
