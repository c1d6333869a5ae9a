//! A service's files on the host: `GET …/mounts` (each mount's host path, owner, mode and
//! cached size) and `POST …/permissions` (give its bind sources to the user its members run
//! as; dry run by default).

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Path, Query};
use super::types::permissions::{MountsView, PermissionsPlan};
use crate::ops;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fix_permissions))
        .routes(routes!(service_mounts))
}

/// Options of a permissions fix.
#[derive(Deserialize, IntoParams)]
struct PermissionsParams {
    /// Make the changes (audited as `service.permissions`); otherwise only list them.
    #[serde(default)]
    apply: bool,
}

/// List (by default) or make the owner changes that give each writable bind source under the
/// data root or a shared root, with everything under it, to the user its member runs as
/// (`user:` when numeric, else `PUID`/`PGID`). Links are changed themselves, never followed;
/// paths outside those roots, read-only mounts and members without a known user are listed in
/// `skipped` with why. When sdmd does not run as root, a short-lived helper container of the
/// member's image with only `CAP_CHOWN` makes the changes.
#[utoipa::path(post, path = "/api/v1/services/{name}/permissions", tag = "services",
    params(("name" = String, Path, description = "Service name"), PermissionsParams),
    responses((status = 200, body = PermissionsPlan),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`, or `host_files_failed`: the host refused a change (`details`: path and message)"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the helper container failed")))]
async fn fix_permissions(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    Query(p): Query<PermissionsParams>,
) -> Result<axum::Json<PermissionsPlan>, ApiError> {
    Ok(axum::Json(
        ops::fix_permissions(&state, &ctx, &name, p.apply)
            .await?
            .into(),
    ))
}

/// Each mount of a managed service's members: host path (a bind's source, a volume's directory),
/// container path, read-only, whether it exists, owner, mode and size. Sizes are measured in the
/// background and cached for five minutes: a mount not measured yet has `size_bytes` null and
/// `measuring` true — ask again.
#[utoipa::path(get, path = "/api/v1/services/{name}/mounts", tag = "services",
    params(("name" = String, Path, description = "Service name")),
    responses((status = 200, body = MountsView),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`unmanaged_service`"),
        (status = 502, body = ErrorBody, description = "`docker_error`: the engine failed")))]
async fn service_mounts(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<MountsView>, ApiError> {
    Ok(axum::Json(ops::mounts(&state, &name).await?.into()))
}
