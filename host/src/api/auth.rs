//! The auth gate, the GoTrue-compatible `/auth/v1` routes, API tokens and `/config.json`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json as AxumJson};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{Audit, Json, Path, Principal, Query};
use super::types::auth::{ApiToken, PublicJwk, Session, UserView};
use crate::auth::builtin::{self, Client};
use crate::auth::{AuthError, BUILTIN_ANON_KEY, tokens};
use crate::config::AuthMode;
use crate::db::audit::AuditContext;
use crate::state::AppState;

/// Routes anyone may call.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(jwks))
        .routes(routes!(runtime_config))
        .routes(routes!(setup_status, setup))
}

/// Routes behind the gate.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user))
        .routes(routes!(logout))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let message = e.to_string();
        match e {
            AuthError::Unauthorized(why) => {
                tracing::debug!(reason = %why, "request not authenticated");
                unauthorized()
            }
            AuthError::NotAdmitted => Self::new(StatusCode::FORBIDDEN, "not_admitted", message),
            AuthError::InvalidCredentials => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_credentials", message)
            }
            AuthError::RateLimited { retry_after_ms } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "over_request_rate_limit",
                message,
            )
            .with_details(serde_json::json!({ "retry_after_ms": retry_after_ms })),
            AuthError::RefreshTokenNotFound => {
                Self::new(StatusCode::BAD_REQUEST, "refresh_token_not_found", message)
            }
            AuthError::SessionExpired { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "session_expired", message)
            }
            AuthError::RefreshTokenAlreadyUsed => Self::new(
                StatusCode::BAD_REQUEST,
                "refresh_token_already_used",
                message,
            ),
            AuthError::Validation(m) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m)
            }
            AuthError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, "validation_failed", m),
            AuthError::NotInThisMode(m) => {
                Self::new(StatusCode::NOT_FOUND, "builtin_auth_disabled", m)
            }
            AuthError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            AuthError::Conflict(m) => Self::new(StatusCode::CONFLICT, "name_taken", m),
            AuthError::SetupComplete => Self::new(StatusCode::CONFLICT, "setup_complete", message),
            AuthError::SetupCodeExpired => {
                Self::new(StatusCode::GONE, "setup_code_expired", message)
            }
            AuthError::InvalidSetupCode => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_setup_code", message)
            }
            AuthError::Database(db) => db.into(),
            AuthError::Internal(m) => {
                tracing::error!(error = %m, "auth failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "An internal error occurred.",
                )
            }
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid bearer token (user session or API token) is required.",
    )
}

/// The one gate in front of every protected route: a user JWT or an API token, else 401.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(bearer) = bearer(req.headers()) else {
        return unauthorized().into_response();
    };
    match state.auth.authenticate(&state.db, &bearer).await {
        Ok(id) => {
            req.extensions_mut().insert(Principal {
                name: id.actor,
                user_id: id.user_id,
                session_id: id.session_id,
            });
            next.run(req).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The bearer credential of a request, if it carries one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn client(headers: &HeaderMap, ctx: AuditContext) -> Client {
    Client {
        ip: ctx.client_ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
        request_id: ctx.request_id,
        client_request_id: ctx.client_request_id,
    }
}

/// `grant_type` of `/auth/v1/token`.
#[derive(Deserialize, IntoParams)]
struct GrantParams {
    /// `password` or `refresh_token`.
    #[param(pattern = "^(password|refresh_token)$")]
    grant_type: String,
}

/// Body of `/auth/v1/token` (the fields of both grants).
#[derive(Deserialize, ToSchema)]
struct TokenRequest {
    /// Password grant.
    email: Option<String>,
    /// Password grant.
    password: Option<String>,
    /// Refresh grant.
    refresh_token: Option<String>,
}

/// Sign in (`grant_type=password`) or exchange a refresh token (`grant_type=refresh_token`; single
/// use: a reused token revokes its session). GoTrue-compatible, built-in mode only.
#[utoipa::path(post, path = "/auth/v1/token", tag = "auth", security(()), params(GrantParams), request_body = TokenRequest,
    responses((status = 200, body = Session),
        (status = 400, body = ErrorBody, description = "`invalid_credentials`, `validation_failed` (email over 320 bytes, password over 1 KiB), `refresh_token_not_found`, `refresh_token_already_used`, `session_expired`"),
        (status = 429, body = ErrorBody, description = "`over_request_rate_limit`: `Retry-After` (seconds) and `details.retry_after_ms` say when an attempt is checked again")))]
async fn token(
    State(state): State<AppState>,
    Query(p): Query<GrantParams>,
    Audit(ctx): Audit,
    headers: HeaderMap,
    Json(body): Json<TokenRequest>,
) -> Result<Response, ApiError> {
    let c = client(&headers, ctx);
    Ok(session_response(
        grant(&state, &p.grant_type, body, &c).await?,
    ))
}

/// Runs the grant `grant_type` names; an unknown one is a 400 before anything is checked.
async fn grant(
    state: &AppState,
    grant_type: &str,
    body: TokenRequest,
    c: &Client,
) -> Result<Result<builtin::Session, AuthError>, ApiError> {
    Ok(match grant_type {
        "password" => {
            let email = body.email.unwrap_or_default();
            let password = body.password.unwrap_or_default();
            state
                .auth
                .password_grant(&state.db, &email, &password, c)
                .await
        }
        "refresh_token" => {
            let token = body.refresh_token.unwrap_or_default();
            state.auth.refresh_grant(&state.db, &token, c).await
        }
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type must be password or refresh_token, not {other}."),
            ));
        }
    })
}

/// A new session as GoTrue answers it, or the auth error (with `Retry-After` for rate limits).
fn session_response(result: Result<builtin::Session, AuthError>) -> Response {
    match result {
        Ok(session) => AxumJson(Session::from(session)).into_response(),
        Err(e) => error_response(e),
    }
}

/// Whether the first administrator still has to be created.
#[derive(Serialize, ToSchema)]
struct SetupStatus {
    /// True in built-in mode while no user exists: the dashboard shows "Create the first
    /// administrator" instead of the sign-in form.
    required: bool,
    /// Whether this server holds a valid setup code now (false once it expired: restart sdmd
    /// for a new one).
    code_active: bool,
}

/// Whether the first administrator still has to be created (public: read by the sign-in page).
#[utoipa::path(get, path = "/api/v1/setup", tag = "auth", security(()),
    responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(state): State<AppState>) -> Result<AxumJson<SetupStatus>, ApiError> {
    let required = state.auth.setup_required(&state.db).await?;
    Ok(AxumJson(SetupStatus {
        required,
        code_active: required && state.auth.setup.active().is_some(),
    }))
}

/// Body of `POST /api/v1/setup`.
#[derive(Deserialize, ToSchema)]
struct SetupRequest {
    /// The one-time code sdmd printed in its log (dashes and case do not matter).
    code: String,
    /// The first administrator's email.
    email: String,
    /// Their password (at least 8 characters).
    password: String,
}

/// Create the first administrator with the one-time setup code from sdmd's log, and sign them
/// in (the same session as `/auth/v1/token`). Only while no user exists.
#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", security(()), request_body = SetupRequest,
    responses((status = 200, body = Session),
        (status = 400, body = ErrorBody, description = "`invalid_setup_code`, or `validation_failed` (a field over its size limit)"),
        (status = 404, body = ErrorBody, description = "`builtin_auth_disabled` (supabase mode)"),
        (status = 409, body = ErrorBody, description = "`setup_complete`: an administrator exists already"),
        (status = 410, body = ErrorBody, description = "`setup_code_expired`: the code was used or is older than 30 minutes (restart sdmd)"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: not an email, or a password under 8 characters"),
        (status = 429, body = ErrorBody, description = "`over_request_rate_limit`: too many wrong codes from this address; `Retry-After` and `details.retry_after_ms`")))]
async fn setup(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    headers: HeaderMap,
    Json(body): Json<SetupRequest>,
) -> Result<Response, ApiError> {
    let c = client(&headers, ctx);
    let result = state
        .auth
        .setup_admin(&state.db, &body.code, &body.email, &body.password, &c)
        .await;
    Ok(session_response(result))
}

/// An auth error as a response, with `Retry-After` for rate limits.
fn error_response(e: AuthError) -> Response {
    let retry = match &e {
        AuthError::RateLimited { retry_after_ms } => Some(retry_after_ms.div_ceil(1000)),
        _ => None,
    };
    let mut resp = ApiError::from(e).into_response();
    if let Some(secs) = retry {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    resp
}

/// A JWKS document.
#[derive(Serialize, ToSchema)]
struct Jwks {
    /// The public keys that verify built-in access tokens.
    keys: Vec<PublicJwk>,
}

/// The public key(s) that verify built-in access tokens.
#[utoipa::path(get, path = "/auth/v1/.well-known/jwks.json", tag = "auth", security(()),
    responses((status = 200, body = Jwks)))]
async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.auth.config.mode != AuthMode::Builtin {
        return Err(AuthError::NotInThisMode(
            "SDMD runs in supabase auth mode: its keys are Supabase's.".into(),
        )
        .into());
    }
    let keys = state.auth.signing_key(&state.db).await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=600")],
        AxumJson(Jwks {
            keys: vec![PublicJwk::from(&keys.jwk)],
        }),
    )
        .into_response())
}

/// The dashboard's runtime settings.
#[derive(Serialize, ToSchema)]
struct RuntimeConfig {
    /// `builtin` or `supabase`.
    auth_mode: String,
    /// Where supabase-js signs in; null means this server's own origin (built-in mode).
    supabase_url: Option<String>,
    /// The key supabase-js sends (public by design).
    anon_key: String,
}

/// How the dashboard should sign in (public: it is read before sign-in).
#[utoipa::path(get, path = "/config.json", tag = "auth", security(()),
    responses((status = 200, body = RuntimeConfig)))]
async fn runtime_config(State(state): State<AppState>) -> AxumJson<RuntimeConfig> {
    let c = &state.auth.config;
    AxumJson(match c.mode {
        AuthMode::Builtin => RuntimeConfig {
            auth_mode: "builtin".into(),
            supabase_url: None,
            anon_key: BUILTIN_ANON_KEY.into(),
        },
        AuthMode::Supabase => RuntimeConfig {
            auth_mode: "supabase".into(),
            supabase_url: c.supabase_url.clone(),
            anon_key: c.supabase_anon_key.clone().unwrap_or_default(),
        },
    })
}

fn user_session(p: &Principal) -> Result<(Uuid, Uuid), ApiError> {
    match (p.user_id, p.session_id) {
        (Some(u), Some(s)) => Ok((u, s)),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "user_session_required",
            "This route needs a user session, not an API token.",
        )),
    }
}

/// The signed-in user.
#[utoipa::path(get, path = "/auth/v1/user", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`user_session_required`: called with an API token")))]
async fn get_user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<AxumJson<UserView>, ApiError> {
    let (user, _) = user_session(&p)?;
    Ok(AxumJson(state.auth.user(&state.db, user).await?.into()))
}

/// `scope` of a logout.
#[derive(Deserialize, IntoParams)]
struct LogoutParams {
    /// `global` (default: every session of the user), `local` (this one) or `others`.
    scope: Option<String>,
}

/// Sign out: revokes sessions, so their access and refresh tokens stop working at once.
#[utoipa::path(post, path = "/auth/v1/logout", tag = "auth", params(LogoutParams),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`user_session_required`: called with an API token")))]
async fn logout(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<LogoutParams>,
    Audit(ctx): Audit,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (user, session) = user_session(&p)?;
    let c = client(&headers, ctx);
    state
        .auth
        .logout(
            &state.db,
            user,
            session,
            q.scope.as_deref().unwrap_or("global"),
            &c,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Active API tokens (secrets are never shown again).
#[derive(Serialize, ToSchema)]
struct TokenList {
    /// By name.
    tokens: Vec<ApiToken>,
}

/// List API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = TokenList)))]
async fn list_tokens(State(state): State<AppState>) -> Result<AxumJson<TokenList>, ApiError> {
    Ok(AxumJson(TokenList {
        tokens: tokens::list(&state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// A token to create.
#[derive(Deserialize, ToSchema)]
struct NewToken {
    /// Unique name among active tokens (letters, digits, `-`, `_`, `.`).
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    name: String,
    /// Optional expiry (RFC 3339).
    expires_at: Option<DateTime<Utc>>,
}

/// A created token: `secret` is shown this once.
#[derive(Serialize, ToSchema)]
struct CreatedToken {
    /// The stored token.
    #[serde(flatten)]
    token: ApiToken,
    /// Use as `Authorization: Bearer <secret>`.
    secret: String,
}

/// Create an API token. Needs a user session: a token cannot mint tokens (they would outlive its
/// own revocation).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken),
        (status = 403, body = ErrorBody, description = "`user_session_required`: called with an API token"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Audit(ctx): Audit,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, AxumJson<CreatedToken>), ApiError> {
    // A user (built-in session or Supabase user token), never an API token.
    if p.user_id.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "user_session_required",
            "Creating an API token needs a user session, not an API token.",
        ));
    }
    let c = tokens::create(&state.db, &ctx, &body.name, body.expires_at).await?;
    Ok((
        StatusCode::CREATED,
        AxumJson(CreatedToken {
            token: c.token.into(),
            secret: c.secret,
        }),
    ))
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Audit(ctx): Audit,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_token(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
