//! The HTTP API. **Architecture Invariant:** this is the only module that knows HTTP status
//! codes and JSON shapes; handlers extract, call one domain function and map the result.

pub mod error;
pub mod extract;
pub mod plugins;
pub mod services;
pub mod system;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use error::ApiError;

/// The OpenAPI document's static parts; paths are collected from the routers.
#[derive(OpenApi)]
#[openapi(
    info(title = "SDMD API", description = "Self-hosted Docker management: services, updates, plugins."),
    tags(
        (name = "services", description = "Service definitions, status and logs"),
        (name = "lifecycle", description = "Deploy, start, stop, restart, pull and update"),
        (name = "updates", description = "Registry checks, safe updates with rollback, history"),
        (name = "audit", description = "The append-only audit log"),
        (name = "plugins", description = "WebAssembly plugins: upload, grants, settings, bindings, test runs"),
        (name = "system", description = "Health and events"),
    )
)]
struct ApiDoc;

/// The protected API routes (everything behind the auth gate) and the public ones, with the
/// OpenAPI document describing both.
pub fn routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (protected, doc_a) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(services::router())
        .merge(plugins::router())
        .merge(system::router())
        .split_for_parts();
    let (public, doc_b) = system::public_router().split_for_parts();
    let mut doc = doc_a;
    doc.merge(doc_b);
    (protected, public, doc)
}

/// The whole application: API, docs, health, request ids, tracing and panic safety.
pub fn app(state: AppState) -> Router {
    let (protected, public, doc) = routes();
    let doc_json = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into());
    let x_request_id = HeaderName::from_static("x-request-id");
    let protected = protected.route(
        "/api/v1/openapi.json",
        get(move || {
            let body = doc_json.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    Router::new()
        .merge(protected)
        .merge(public)
        .route(
            "/api/docs",
            get(|| async { Html(include_str!("api/docs.html")) }),
        )
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "No such route.")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This route does not accept that method.",
            )
        })
        .with_state(state)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "An internal error occurred.",
                )
                .into_response()
            },
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}
