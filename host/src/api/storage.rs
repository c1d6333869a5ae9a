//! `/api/v1/settings/roots` (shared roots: folders several apps use, `${MEDIA}`) and
//! `/api/v1/fs/dirs` (the mount picker: folders under the data root and those roots only).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json, Query};
use super::types::storage::{DirView, DirsParams, DirsView, RootView, RootsBody, RootsView};
use crate::roots;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_roots, put_roots))
        .routes(routes!(list_dirs))
}

async fn view(state: &AppState, roots: Vec<roots::RootView>) -> RootsView {
    RootsView {
        appdata: state.appdata_dir().display().to_string(),
        roots: roots.into_iter().map(RootView::from).collect(),
    }
}

/// The data root and the shared roots, each with whether it exists on the host.
#[utoipa::path(get, path = "/api/v1/settings/roots", tag = "storage",
    responses((status = 200, body = RootsView)))]
async fn get_roots(State(state): State<AppState>) -> Result<axum::Json<RootsView>, ApiError> {
    let list = roots::list(&state).await?;
    Ok(axum::Json(view(&state, list).await))
}

/// Replace the shared roots (names absent are removed). A path need not exist yet. Audited as
/// `settings.roots.set` with names and paths.
#[utoipa::path(put, path = "/api/v1/settings/roots", tag = "storage",
    request_body = RootsBody,
    responses((status = 200, body = RootsView),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a name that is not a variable name, a standard one or a stored variable's; a path that is not absolute, has `.`/`..` or is `/`; `details` name each (`roots.NAME`)")))]
async fn put_roots(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Json(body): Json<RootsBody>,
) -> Result<axum::Json<RootsView>, ApiError> {
    let list = roots::put(&state, &ctx, body.roots).await?;
    Ok(axum::Json(view(&state, list).await))
}

/// The sub-folders of `path` for the mount picker; without `path`, the data root and the shared
/// roots. Symbolic links are followed and must stay under a root.
#[utoipa::path(get, path = "/api/v1/fs/dirs", tag = "storage",
    params(DirsParams),
    responses((status = 200, body = DirsView),
        (status = 422, body = ErrorBody, description = "`validation_failed`: `path` is outside the data root and the shared roots, or cannot be read (`details`: `path`)")))]
async fn list_dirs(
    State(state): State<AppState>,
    Query(p): Query<DirsParams>,
) -> Result<axum::Json<DirsView>, ApiError> {
    match p.path {
        Some(path) => Ok(axum::Json(roots::list_dirs(&state, &path).await?.into())),
        None => Ok(axum::Json(DirsView {
            path: None,
            root: None,
            parent: None,
            dirs: roots::allowed(&state)
                .await?
                .into_iter()
                .map(|a| DirView {
                    name: a.name,
                    path: a.path.display().to_string(),
                })
                .collect(),
            truncated: false,
        })),
    }
}
