//! The HTTP API. **Architecture Invariant:** this is the only module that knows HTTP status
//! codes and JSON shapes; handlers extract, call one domain function and map the result.

pub mod auth;
pub mod client_ip;
pub mod csp;
pub mod error;
pub mod etag;
pub mod extract;
pub mod observe;
pub mod permissions;
pub mod plugins;
pub mod registries;
pub mod services;
pub mod storage;
pub mod stream_guard;
pub mod system;
pub mod templates;
pub mod types;
pub mod ui;
pub mod variables;

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
        (name = "variables", description = "Global variables (`${NAME}` in every definition) and the standard environment"),
        (name = "templates", description = "App templates (bundled, Portainer v2, CasaOS, Yacht catalogs) and services made from them"),
        (name = "storage", description = "The data root, shared roots (`${MEDIA}`) and the folder picker"),
        (name = "observability", description = "Resource samples, status and health history, the host overview"),
        (name = "system", description = "Health and events"),
        (name = "auth", description = "Sign-in (GoTrue-compatible), sessions and API tokens"),
    ),
    // Named by the hand-written schema of the variables map (`types::variables::variables_map`),
    // which utoipa does not follow to collect them.
    components(schemas(types::variables::VariableInput, types::variables::VariableSpec))
)]
struct ApiDoc;

/// The protected API routes (everything behind the auth gate) and the public ones, with the
/// OpenAPI document describing both.
pub fn routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (protected, doc_a) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(services::router())
        .merge(plugins::router())
        .merge(registries::router())
        .merge(variables::router())
        .merge(templates::router())
        .merge(storage::router())
        .merge(permissions::router())
        .merge(observe::router())
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
    declare_common_responses(&mut doc);
    (protected, public, doc)
}

/// Declares, on every operation, the error answers that come from the layers around its handler
/// rather than from the handler itself, so the document lists every status a route can give:
/// the auth gate's 401, 403 (`not_admitted`, Supabase mode) and its database check's 503 on
/// protected routes; 400 `invalid_query` / `invalid_path` where the route has query or path
/// parameters; 400 `malformed_body`, 413, 415 `unsupported_media_type` and 422
/// `validation_failed` where it takes a body. A response the route declares itself (with its own
/// description) is kept.
fn declare_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            // `security(())` alone (or among others, as on /healthz) means a credential is optional.
            let public = op
                .security
                .as_ref()
                .is_some_and(|reqs| reqs.contains(&SecurityRequirement::default()));
            let params = op.parameters.as_deref().unwrap_or_default();
            let has_query = params
                .iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query));
            let has_path = params
                .iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Path));
            let has_body = op.request_body.is_some();
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            };
            if !public {
                add(
                    "401",
                    "`unauthorized`: no, invalid, expired or revoked bearer credential",
                );
                add(
                    "403",
                    "`not_admitted`: a valid Supabase user who is not one of SDMD's administrators",
                );
                add(
                    "503",
                    "`database_unavailable` (or `docker_unavailable`): a dependency cannot be reached; retry",
                );
            }
            if has_query || has_path || has_body {
                add(
                    "400",
                    "`invalid_query`, `invalid_path` or `malformed_body`: a parameter or the body cannot be parsed",
                );
            }
            if has_body {
                add("413", "`body_unreadable`: the body is over the size limit");
                add(
                    "415",
                    "`unsupported_media_type`: the body's media type is not one the route accepts",
                );
                add(
                    "422",
                    "`validation_failed`: the body does not have the expected shape or fails validation",
                );
            }
        }
    }
}

/// The document as served: utoipa's, plus what its attributes cannot say (see [`refine`]).
pub fn document_json(doc: &utoipa::openapi::OpenApi) -> String {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    refine(&mut value);
    serde_json::to_string(&value).unwrap_or_else(|_| "{}".into())
}

/// Request-schema rules that the derive attributes cannot express, so that a request the
/// document calls valid is one the server accepts: a definition has at least one member with a
/// DNS-safe name; a weekly schedule names its weekday; a time zone is one of the IANA names
/// SDMD knows. And one answer field the derive leaves out: a schedule's read-only `next_run`.
fn refine(doc: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut doc["components"]["schemas"];
    if let Some(services) = schemas
        .pointer_mut("/Definition/properties/services")
        .and_then(|v| v.as_object_mut())
    {
        services.insert("minProperties".into(), json!(1));
        services.insert(
            "propertyNames".into(),
            json!({"pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}),
        );
    }
    // RFC 3339 as chrono reads it (JSON Schema's `format` alone is an annotation).
    if let Some(expires) = schemas
        .pointer_mut("/NewToken/properties/expires_at")
        .and_then(|v| v.as_object_mut())
    {
        expires.insert(
            "pattern".into(),
            json!(
                "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
            ),
        );
    }
    if let Some(schedule) = schemas.get_mut("Schedule").and_then(|v| v.as_object_mut()) {
        schedule.insert(
            "if".into(),
            json!({"properties": {"frequency": {"const": "weekly"}}, "required": ["frequency"]}),
        );
        schedule.insert(
            "then".into(),
            json!({"required": ["weekday"], "properties": {"weekday": {"type": "string"}}}),
        );
        // `next_run` is answered but never read (`skip_deserializing`), which utoipa takes for
        // "not in the schema": declare it, read-only.
        if let Some(props) = schedule
            .get_mut("properties")
            .and_then(|p| p.as_object_mut())
        {
            props.insert(
                "next_run".into(),
                json!({
                    "type": ["string", "null"],
                    "format": "date-time",
                    "readOnly": true,
                    "description": "The next time it will run (read-only: answers carry it, requests must not)."
                }),
            );
        }
        let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect();
        if let Some(tz) = schedule
            .get_mut("properties")
            .and_then(|p| p.get_mut("timezone"))
            .and_then(|v| v.as_object_mut())
        {
            tz.insert("enum".into(), json!(zones));
        }
    }
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
    let doc_json = document_json(&doc);
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
