//! `/api/v1/variables`: SDMD's global variables (`${NAME}` in every definition, after the
//! service's `.env`); secret ones are sealed and never returned.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json};
use super::types::variables::{VariablesBody, VariablesView};
use crate::state::AppState;
use crate::variables;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_variables, put_variables))
}

/// Every variable definitions can use: stored ones (secrets without their value), those of the
/// `SDMD_VARIABLES` file and the standard defaults (`TZ`, `PUID`, `PGID`, `UMASK`) that no
/// stored one overrides.
#[utoipa::path(get, path = "/api/v1/variables", tag = "variables",
    responses((status = 200, body = VariablesView)))]
async fn list_variables(
    State(state): State<AppState>,
) -> Result<axum::Json<VariablesView>, ApiError> {
    Ok(axum::Json(variables::list(&state).await?.into()))
}

/// Replace the stored variables with the set sent (names absent are removed; a stored secret
/// sent as `{"secret": true}` keeps its value). Audited as `variables.set` with the names and
/// whether each is secret, never values.
#[utoipa::path(put, path = "/api/v1/variables", tag = "variables",
    request_body = VariablesBody,
    responses((status = 200, body = VariablesView),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a name that is not an identifier, a value too long, a secret to keep that is not stored; `details` name each field (`variables.NAME`, `variables.NAME.value`)")))]
async fn put_variables(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Json(body): Json<VariablesBody>,
) -> Result<axum::Json<VariablesView>, ApiError> {
    let vars = body
        .variables
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    Ok(axum::Json(variables::put(&state, &ctx, vars).await?.into()))
}
