//! `/api/v1/templates`: app templates — the bundled catalog and the Portainer v2, CasaOS and
//! Yacht catalogs an administrator added — and new services made from them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json, Path, Query};
use super::types::templates::{
    CatalogView, InstantiateBody, InstantiatedView, SourcesBody, TemplateFileView,
};
use crate::state::AppState;
use crate::templates;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates))
        .routes(routes!(get_sources, put_sources))
        .routes(routes!(instantiate_template))
        .routes(routes!(put_template_file, delete_template_file))
}

/// Every template: the bundled ones, then each catalog URL's, fetched now (5 s and 2 MiB at
/// most each). A catalog that cannot be read is listed in `sources` with its error; the
/// others' templates are still given.
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates",
    responses((status = 200, body = CatalogView)))]
async fn list_templates(
    State(state): State<AppState>,
) -> Result<axum::Json<CatalogView>, ApiError> {
    Ok(axum::Json(templates::catalog(&state).await?.into()))
}

/// The catalog URLs, in order.
#[utoipa::path(get, path = "/api/v1/templates/sources", tag = "templates",
    responses((status = 200, body = SourcesBody)))]
async fn get_sources(State(state): State<AppState>) -> Result<axum::Json<SourcesBody>, ApiError> {
    Ok(axum::Json(SourcesBody {
        sources: templates::sources(&state).await?,
    }))
}

/// Replace the catalog URLs. Audited as `templates.sources.set` with the URLs.
#[utoipa::path(put, path = "/api/v1/templates/sources", tag = "templates",
    request_body = SourcesBody,
    responses((status = 200, body = SourcesBody),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a URL that is not http(s), longer than 2048 bytes or repeated, or more than 20; `details` name each (`sources[i]`)")))]
async fn put_sources(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Json(body): Json<SourcesBody>,
) -> Result<axum::Json<SourcesBody>, ApiError> {
    Ok(axum::Json(SourcesBody {
        sources: templates::put_sources(&state, &ctx, body.sources).await?,
    }))
}

/// Options of an instantiation.
#[derive(Deserialize, IntoParams)]
struct InstantiateParams {
    /// Also store the service (as `POST /api/v1/services` would); otherwise only the definition
    /// is returned, to review or edit first.
    #[serde(default)]
    create: bool,
}

/// A new service's definition from a template, with the values given for its variables (written
/// literally into the definition); with `create=true` the service is stored too.
#[utoipa::path(post, path = "/api/v1/templates/{id}/instantiate", tag = "templates",
    params(("id" = String, Path, description = "Template id from the catalog (`bundled.jellyfin`, `s1.nginx`)"), InstantiateParams),
    request_body = InstantiateBody,
    responses((status = 200, body = InstantiatedView, description = "The definition (not stored)"),
        (status = 201, body = InstantiatedView, description = "Stored (`create=true`)"),
        (status = 404, body = ErrorBody, description = "`template_not_found`"),
        (status = 409, body = ErrorBody, description = "`name_taken` or `name_in_use_unmanaged` (with `create=true`)"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a value not among a select's choices, a template this build cannot turn into a service (Portainer stacks), a name that is not a service name, or a definition the resolver refuses; `details` name each field"),
        (status = 502, body = ErrorBody, description = "`template_source_unavailable`: the template's catalog could not be read (`details.source`)")))]
async fn instantiate_template(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(id): Path<String>,
    Query(p): Query<InstantiateParams>,
    Json(body): Json<InstantiateBody>,
) -> Result<(StatusCode, axum::Json<InstantiatedView>), ApiError> {
    let made =
        templates::instantiate(&state, &ctx, &id, &body.name, &body.variables, p.create).await?;
    let status = if made.service.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(made.into())))
}

/// Upload a catalog file (Portainer v2 JSON, a CasaOS app compose, Yacht JSON; at most 2 MiB) as
/// it is: its templates join the catalog after the bundled ones, with ids
/// `file-<slug of the name>.<template>`. A file of that name is replaced. Audited as
/// `templates.file.put`.
#[utoipa::path(put, path = "/api/v1/templates/files/{name}", tag = "templates",
    params(("name" = String, Path, description = "The file's name (1-128 letters, digits, `.`, `_`, `-`)")),
    request_body(content(
        (String = "application/json"),
        (String = "application/yaml"),
        (String = "text/plain")
    )),
    responses((status = 200, body = TemplateFileView),
        (status = 413, body = ErrorBody, description = "`body_unreadable`: more than 2 MiB"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: not a catalog in a known format, or a template in it lacks what it needs — `details` name the template and the field (`No Image: image`); or a bad name")))]
async fn put_template_file(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<axum::Json<TemplateFileView>, ApiError> {
    let templates = templates::put_file(&state, &ctx, &name, body.to_vec()).await?;
    Ok(axum::Json(TemplateFileView { name, templates }))
}

/// Remove an uploaded catalog file. Audited as `templates.file.delete`.
#[utoipa::path(delete, path = "/api/v1/templates/files/{name}", tag = "templates",
    params(("name" = String, Path, description = "The file's name")),
    responses((status = 204, description = "Removed"),
        (status = 404, body = ErrorBody, description = "`template_not_found`: no file of that name")))]
async fn delete_template_file(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    templates::delete_file(&state, &ctx, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
