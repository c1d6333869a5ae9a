//! The HTTP API. **Architecture Invariant:** this is the only module that knows HTTP status
//! codes and JSON shapes; handlers extract, call one domain function and map the result.

pub mod auth;
pub mod client_ip;
pub mod csp;
pub mod error;
pub mod extract;
pub mod plugins;
pub mod registries;
pub mod services;
pub mod stream_guard;
pub mod system;
pub mod ui;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
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
        (name = "auth", description = "Sign-in (GoTrue-compatible), sessions and API tokens"),
    )
)]
struct ApiDoc;

/// The protected API routes (everything behind the auth gate) and the public ones, with the
/// OpenAPI document describing both.
pub fn routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (protected, doc_a) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(services::router())
        .merge(plugins::router())
        .merge(registries::router())
        .merge(system::router())
        .merge(auth::router())
        .split_for_parts();
    let (public, doc_b) = system::public_router()
        .merge(auth::public_router())
        .split_for_parts();
    let mut doc = doc_a;
    doc.merge(doc_b);
    // Every route requires a bearer token unless it says `security(())`.
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT or sdmd_ API token")
                .build(),
        ),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    (protected, public, doc)
}

/// The whole application: API, docs, health, request ids, tracing and panic safety.
pub fn app(state: AppState) -> Router {
    let (protected, public, doc) = routes();
    let supabase_url = state.auth.config.supabase_url.clone();
    let tls = state.tls;
    let script_hashes = csp::script_hashes(
        state.ui_dir.as_deref().map(std::path::PathBuf::as_path),
        &[DOCS_HTML],
    );
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
    // The one gate: every protected route, nothing else (route_layer: unknown paths stay 404).
    let protected =
        protected.route_layer(middleware::from_fn_with_state(state.clone(), auth::gate));
    let router = Router::new()
        .merge(protected)
        .merge(public)
        .route("/api/docs", get(|| async { Html(DOCS_HTML) }))
        .fallback(ui::fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This route does not accept that method.",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::resolve,
        ))
        .with_state(state);
    with_security_headers(router, supabase_url.as_deref(), &script_hashes, tls)
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-supabase-api-version"),
            HeaderValue::from_static("2024-01-01"),
        ))
        .layer(cors())
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
        // Outermost: a client's own id never becomes the request id.
        .layer(middleware::from_fn(extract::take_client_request_id))
}

/// CORS for supabase-js and API clients on other origins. Credentials travel as bearer headers,
/// never cookies, so any origin may call; the GoTrue headers are allowed and the API version
/// header is exposed (supabase-js reads it to parse error codes).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("apikey"),
            HeaderName::from_static("x-client-info"),
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            HeaderName::from_static("x-supabase-api-version"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// The dashboard's Content-Security-Policy. Scripts: same-origin files plus the inline scripts
/// SDMD serves, each allowed by its SHA-256 hash (`script_hashes`, see [`csp`]) — no
/// `'unsafe-inline'`. Styles keep `'unsafe-inline'` (React renders `style` attributes). Everything
/// else is same-origin only, plus the Supabase project in supabase mode (sign-in and realtime).
pub fn content_security_policy(supabase_url: Option<&str>, script_hashes: &[String]) -> String {
    let mut connect = String::from("'self'");
    if let Some(url) = supabase_url {
        let url = url.trim_end_matches('/');
        connect.push(' ');
        connect.push_str(url);
        if let Some(rest) = url.strip_prefix("https://") {
            connect.push_str(&format!(" wss://{rest}"));
        } else if let Some(rest) = url.strip_prefix("http://") {
            connect.push_str(&format!(" ws://{rest}"));
        }
    }
    let mut script = String::from("'self'");
    for h in script_hashes {
        script.push(' ');
        script.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self' data:; connect-src {connect}; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

/// The API docs page (compiled in; its inline script is allowed by hash).
const DOCS_HTML: &str = include_str!("api/docs.html");

/// CSP, `nosniff`, `Referrer-Policy`, `X-Frame-Options`, and HSTS when SDMD serves TLS itself.
fn with_security_headers(
    router: Router,
    supabase_url: Option<&str>,
    script_hashes: &[String],
    tls: bool,
) -> Router {
    let csp = content_security_policy(supabase_url, script_hashes);
    let hsts = tls.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
            }),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}
