//! Authentication: who is calling. Two modes (DESIGN §5):
//!
//! - `builtin` (default): SDMD is its own GoTrue-compatible issuer. Users live in PostgreSQL
//!   (argon2id), access tokens are ES256 JWTs signed with a key stored in the database (so every
//!   replica verifies every token), sessions are revocable and checked on every request.
//! - `supabase`: tokens come from a self-hosted Supabase; SDMD only verifies them (HS256 with the
//!   shared secret and/or ES256/RS256 from the project's JWKS).
//!
//! API tokens (`sdmd_…`) work in both modes. The HTTP gate lives in `api::auth`; this module
//! holds the rules and never speaks HTTP.

pub mod admission;
pub mod builtin;
pub mod jwks;
pub mod keys;
pub mod password;
pub mod principals;
pub mod settings;
pub mod setup;
pub mod tokens;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use settings::{AuthConfig, AuthMode};

/// Who a verified credential belongs to.
#[derive(Debug, Clone)]
pub struct Identity {
    /// How the audit log names them: the user's email, or `token:<name>:<id>`.
    pub actor: String,
    /// The user id (`sub`), for user tokens.
    pub user_id: Option<Uuid>,
    /// The built-in session, for built-in user tokens.
    pub session_id: Option<Uuid>,
}

/// Why authentication or an auth operation failed. `api` maps each to a status and code.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable credential; the string says why (logged, not shown in detail).
    #[error("{0}")]
    Unauthorized(String),
    /// A valid Supabase user whom the admission policy does not make an administrator.
    #[error(
        "This account is not an SDMD administrator: ask an administrator to add it to SDMD_SUPABASE_ADMINS or give it the admission claim."
    )]
    NotAdmitted,
    /// Wrong email or password.
    #[error("Invalid login credentials")]
    InvalidCredentials,
    /// Too many failed sign-ins from this address or for this account: retry after the wait.
    #[error("Too many sign-in attempts; retry in {} s.", retry_after_ms.div_ceil(1000))]
    RateLimited {
        /// How long until an attempt is checked again, in milliseconds.
        retry_after_ms: u64,
    },
    /// The refresh token is unknown or its session ended.
    #[error("Invalid Refresh Token: Refresh Token Not Found")]
    RefreshTokenNotFound,
    /// The session outlived its absolute lifetime (or, `inactivity`, its idle timeout).
    #[error("Invalid Refresh Token: Session Expired{}", if *inactivity { " (Inactivity)" } else { "" })]
    SessionExpired {
        /// Ended by the idle timeout rather than the absolute lifetime.
        inactivity: bool,
    },
    /// The refresh token was used before: the session is revoked.
    #[error("Invalid Refresh Token: Already Used")]
    RefreshTokenAlreadyUsed,
    /// The request is missing something or has a bad value.
    #[error("{0}")]
    Validation(String),
    /// The request is malformed for this route (e.g. an email longer than an email can be): 400.
    #[error("{0}")]
    BadRequest(String),
    /// This route does not exist in the configured auth mode.
    #[error("{0}")]
    NotInThisMode(String),
    /// No such thing (API token, user).
    #[error("{0}")]
    NotFound(String),
    /// A name is taken.
    #[error("{0}")]
    Conflict(String),
    /// `POST /api/v1/setup` after an administrator exists.
    #[error("An administrator exists already: sign in instead.")]
    SetupComplete,
    /// `POST /api/v1/setup` without a valid setup code to check against (used or expired).
    #[error(
        "There is no valid setup code: it was used or is older than 30 minutes. Restart sdmd to print a new one in its log."
    )]
    SetupCodeExpired,
    /// The setup code does not match.
    #[error("That is not the setup code sdmd printed in its log.")]
    InvalidSetupCode,
    /// PostgreSQL failed.
    #[error("database error: {0}")]
    Database(#[from] crate::db::DbError),
    /// Anything else (key handling, hashing).
    #[error("{0}")]
    Internal(String),
}

/// Claims of an access token, as Supabase (GoTrue) issues them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `authenticated` for users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    #[serde(default)]
    pub iat: i64,
    /// User email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// User phone (always empty here).
    #[serde(default)]
    pub phone: String,
    /// `authenticated`, or `anon`/`service_role` for project keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Authenticator assurance level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal: Option<String>,
    /// Authentication methods used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<serde_json::Value>,
    /// The session this token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Anonymous sign-in (never, here).
    #[serde(default)]
    pub is_anonymous: bool,
    /// Provider data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<serde_json::Value>,
    /// User data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<serde_json::Value>,
    /// Any other claim (a custom access token hook's, for the admission policy).
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The non-secret `anon_key` handed to the dashboard in built-in mode: supabase-js wants a key,
/// SDMD does not check it.
pub const BUILTIN_ANON_KEY: &str = "sdmd-builtin-anon-key";

/// The authentication service of one process (shared by handlers through `AppState`).
pub struct Auth {
    /// The configuration it runs with.
    pub config: AuthConfig,
    keys: keys::KeyCache,
    jwks: Option<jwks::JwksCache>,
    admission: admission::Admission,
    /// The first run's setup code (built-in mode, no user yet).
    pub setup: setup::SetupCode,
    dummy_hash: tokio::sync::OnceCell<String>,
    /// Password checks running at once: one per CPU core, so a flood of sign-ins queues here
    /// (holding no database connection) instead of starving the machine and 19 MiB each.
    argon2: tokio::sync::Semaphore,
    /// Verified sessions and API tokens, while the invalidation listener runs.
    pub principals: principals::Principals,
}

/// Password checks allowed at once: the CPU cores available to this process.
pub fn argon2_permits() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Auth {
    /// An auth service for `config`.
    pub fn new(config: AuthConfig) -> Arc<Self> {
        let config = config.normalized();
        let jwks = match (&config.mode, &config.supabase_url) {
            (AuthMode::Supabase, Some(url)) => Some(jwks::JwksCache::new(
                format!(
                    "{}/auth/v1/.well-known/jwks.json",
                    url.trim_end_matches('/')
                ),
                std::time::Duration::from_secs(config.jwks_min_refetch_secs),
            )),
            _ => None,
        };
        // `validate` refuses bad rules at startup; here a bad rule admits nobody (deny by default).
        let admission = config.admission().unwrap_or_else(|e| {
            tracing::error!(error = %e, "supabase admission policy");
            admission::Admission::default()
        });
        Arc::new(Self {
            config,
            admission,
            setup: setup::SetupCode::default(),
            keys: keys::KeyCache::default(),
            jwks,
            dummy_hash: tokio::sync::OnceCell::new(),
            argon2: tokio::sync::Semaphore::new(argon2_permits()),
            principals: principals::Principals::default(),
        })
    }

    /// Built-in mode with default settings (tests, and `AppState::new`).
    pub fn builtin() -> Arc<Self> {
        Self::new(AuthConfig::default())
    }

    /// Verifies a bearer credential: an API token (`sdmd_…`) or a user JWT of the configured mode.
    /// Built-in sessions and API tokens are answered from [`principals`] when cached there.
    pub async fn authenticate(
        &self,
        db: &crate::db::PgPool,
        bearer: &str,
    ) -> Result<Identity, AuthError> {
        let cached =
            bearer.starts_with(tokens::TOKEN_PREFIX) || self.config.mode == AuthMode::Builtin;
        if !cached {
            return self.verify_supabase(bearer).await;
        }
        let key = principals::key(bearer);
        if let Some(identity) = self.principals.get(&key) {
            return Ok(identity);
        }
        let ticket = self.principals.ticket();
        let verified = if bearer.starts_with(tokens::TOKEN_PREFIX) {
            tokens::verify(db, bearer).await?
        } else {
            self.verify_builtin(db, bearer).await?
        };
        let identity = verified.identity.clone();
        self.principals.insert(ticket, key, verified);
        Ok(identity)
    }

    /// Revokes an API token (audited as `token.revoke`); it stops working at once here and, through
    /// the database's notification, on every replica.
    pub async fn revoke_token(
        &self,
        db: &crate::db::PgPool,
        ctx: &crate::db::audit::AuditContext,
        id: Uuid,
    ) -> Result<(), AuthError> {
        tokens::revoke(db, ctx, id).await?;
        self.principals.evict_token(id);
        Ok(())
    }

    /// The built-in signing key, loaded from (or created in) the database once per process.
    pub async fn signing_key(&self, db: &crate::db::PgPool) -> Result<&keys::Keys, AuthError> {
        self.keys.get(db).await
    }

    async fn verify_builtin(
        &self,
        db: &crate::db::PgPool,
        token: &str,
    ) -> Result<principals::Verified, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Unauthorized(format!("malformed token: {e}")))?;
        // Pinned: the built-in issuer only ever signs ES256, whatever the header claims.
        if header.alg != Algorithm::ES256 {
            return Err(AuthError::Unauthorized(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let keys = self.keys.get(db).await?;
        if header.kid.as_deref() != Some(keys.kid.as_str()) {
            return Err(AuthError::Unauthorized("unknown key id".into()));
        }
        let issuer = self.config.issuer();
        let claims = decode_claims(token, &keys.decoding, &[Algorithm::ES256], Some(&issuer))?;
        let user_id = user_of(&claims)?;
        let session_id = claims
            .session_id
            .as_deref()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| AuthError::Unauthorized("token has no session".into()))?;
        let Some(session_left) =
            crate::db::auth::session_active_for(db, session_id, &self.config.session_limits())
                .await?
        else {
            return Err(AuthError::Unauthorized("session revoked or expired".into()));
        };
        let actor = claims.email.clone().unwrap_or_else(|| user_id.to_string());
        // Valid until the session ends or the token expires (`exp` plus the leeway), whichever
        // comes first.
        let now = chrono::Utc::now().timestamp();
        let token_left = claims.exp.saturating_add(LEEWAY_SECS).saturating_sub(now);
        Ok(principals::Verified {
            identity: Identity {
                actor,
                user_id: Some(user_id),
                session_id: Some(session_id),
            },
            token_id: None,
            valid_for: secs(session_left)
                .min(Duration::from_secs(u64::try_from(token_left).unwrap_or(0))),
        })
    }

    async fn verify_supabase(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Unauthorized(format!("malformed token: {e}")))?;
        let allowed = self.config.algorithms();
        if !allowed.contains(&header.alg) {
            return Err(AuthError::Unauthorized(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = match header.alg {
            Algorithm::HS256 => {
                let secret = self.config.supabase_jwt_secret.as_deref().ok_or_else(|| {
                    AuthError::Unauthorized("HS256 needs SUPABASE_JWT_SECRET".into())
                })?;
                DecodingKey::from_secret(secret.as_bytes())
            }
            alg => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthError::Unauthorized("token has no kid".into()))?;
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| AuthError::Unauthorized("no JWKS configured".into()))?;
                jwks.key(kid, alg).await?
            }
        };
        let claims = decode_claims(
            token,
            &key,
            &[header.alg],
            self.config.supabase_jwt_issuer.as_deref(),
        )?;
        let user_id = user_of(&claims)?;
        let raw = serde_json::to_value(&claims)
            .map_err(|e| AuthError::Internal(format!("claims as JSON: {e}")))?;
        if !self
            .admission
            .admits(user_id, claims.email.as_deref(), &raw)
        {
            tracing::info!(user_id = %user_id, email = claims.email.as_deref().unwrap_or(""),
                "Supabase user not admitted by SDMD_SUPABASE_ADMINS / SDMD_SUPABASE_ADMIN_CLAIM");
            return Err(AuthError::NotAdmitted);
        }
        let actor = claims
            .email
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| user_id.to_string());
        Ok(Identity {
            actor,
            user_id: Some(user_id),
            session_id: claims
                .session_id
                .as_deref()
                .and_then(|s| Uuid::parse_str(s).ok()),
        })
    }

    /// Prepares what the first requests would otherwise pay for (the dummy hash, so the very
    /// first unknown-account sign-in is not slower than a wrong password; the signing key).
    pub async fn warm_up(&self, db: &crate::db::PgPool) -> Result<(), AuthError> {
        self.dummy_hash().await?;
        if self.config.mode == AuthMode::Builtin {
            self.signing_key(db).await?;
        }
        Ok(())
    }

    /// Whether `password` matches `phc`, waiting for one of [`argon2_permits`] slots first.
    pub async fn verify_password(&self, password: String, phc: String) -> Result<bool, AuthError> {
        let _slot = self
            .argon2
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(format!("password check slots: {e}")))?;
        password::verify(password, phc).await
    }

    /// The argon2id hash verified against when the account does not exist, so an unknown email
    /// costs the same time as a wrong password.
    pub(crate) async fn dummy_hash(&self) -> Result<&str, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async { password::hash(random_token(24)).await })
            .await
            .map(String::as_str)
    }
}

/// Seconds a token's `exp` and `nbf` may be off (clock skew between issuer and verifier).
const LEEWAY_SECS: i64 = 30;

/// A duration of `s` seconds from PostgreSQL (zero when negative or not a number).
pub(crate) fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

/// Checks signature, `exp`, `aud = authenticated`, `sub`, and `iss` when configured; refuses the
/// project's `anon`/`service_role` keys, which are not users.
fn decode_claims(
    token: &str,
    key: &DecodingKey,
    algs: &[Algorithm],
    iss: Option<&str>,
) -> Result<Claims, AuthError> {
    let mut v = Validation::new(algs.first().copied().unwrap_or(Algorithm::ES256));
    v.algorithms = algs.to_vec();
    v.set_audience(&["authenticated"]);
    v.set_required_spec_claims(&["exp", "sub", "aud"]);
    v.leeway = LEEWAY_SECS.unsigned_abs();
    v.validate_nbf = true;
    if let Some(iss) = iss {
        v.set_issuer(&[iss]);
    }
    let data = jsonwebtoken::decode::<Claims>(token, key, &v)
        .map_err(|e| AuthError::Unauthorized(format!("invalid token: {e}")))?;
    let c = data.claims;
    if matches!(c.role.as_deref(), Some("anon" | "service_role")) {
        return Err(AuthError::Unauthorized(
            "project API keys are not user tokens".into(),
        ));
    }
    // Anonymous sign-ins are Supabase users nobody vouched for: never administrators.
    if c.is_anonymous {
        return Err(AuthError::Unauthorized(
            "anonymous users are not accepted".into(),
        ));
    }
    Ok(c)
}

fn user_of(c: &Claims) -> Result<Uuid, AuthError> {
    c.sub
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| AuthError::Unauthorized("token has no user (sub)".into()))
}

impl AuthConfig {
    /// The session limits of built-in mode.
    pub fn session_limits(&self) -> crate::db::auth::SessionLimits {
        crate::db::auth::SessionLimits {
            lifetime_secs: i64::try_from(self.session_lifetime_secs).unwrap_or(i64::MAX),
            idle_secs: i64::try_from(self.session_idle_secs).unwrap_or(i64::MAX),
        }
    }

    /// The algorithms accepted in supabase mode: `SDMD_JWT_ALGORITHMS` when set, else HS256 when a
    /// secret is configured plus ES256 and RS256 when a Supabase URL (JWKS) is configured.
    pub fn algorithms(&self) -> HashSet<Algorithm> {
        if let Some(list) = &self.jwt_algorithms {
            return list
                .split(',')
                .filter_map(|a| match a.trim().to_ascii_uppercase().as_str() {
                    "HS256" => Some(Algorithm::HS256),
                    "ES256" => Some(Algorithm::ES256),
                    "RS256" => Some(Algorithm::RS256),
                    _ => None,
                })
                .collect();
        }
        let mut set = HashSet::new();
        if self.supabase_jwt_secret.is_some() {
            set.insert(Algorithm::HS256);
        }
        if self.supabase_url.is_some() {
            set.insert(Algorithm::ES256);
            set.insert(Algorithm::RS256);
        }
        set
    }
}

/// `n` random bytes from the OS, base64url without padding.
pub fn random_token(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// `n` random bytes from the OS.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // `SystemRandom` reads the OS generator; it only fails when the OS has none.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf).is_err() {
        // Fall back to v4 UUIDs (also OS randomness through getrandom) rather than panic.
        buf = (0..n.div_ceil(16))
            .flat_map(|_| *Uuid::new_v4().as_bytes())
            .take(n)
            .collect();
    }
    buf
}

/// Hex SHA-256 of a secret (refresh tokens and API tokens are stored this way; they are long
/// random strings, so a fast hash is enough).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
