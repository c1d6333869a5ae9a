//! Shapes of sign-in (GoTrue's), the JWKS and API tokens.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{builtin, keys};

/// A user as GoTrue shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// `authenticated`.
    pub aud: String,
    /// `authenticated`.
    pub role: String,
    /// Email.
    pub email: String,
    /// Email confirmation time (users created by an administrator are confirmed).
    pub email_confirmed_at: DateTime<Utc>,
    /// Always empty.
    pub phone: String,
    /// Confirmation time.
    pub confirmed_at: DateTime<Utc>,
    /// Last sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// `{"provider": "email", "providers": ["email"]}`.
    #[schema(value_type = Object)]
    pub app_metadata: serde_json::Value,
    /// Empty object.
    #[schema(value_type = Object)]
    pub user_metadata: serde_json::Value,
    /// Empty list.
    #[schema(value_type = Vec<Object>)]
    pub identities: Vec<serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Always false.
    pub is_anonymous: bool,
}

impl From<builtin::UserView> for UserView {
    fn from(u: builtin::UserView) -> Self {
        Self {
            id: u.id,
            aud: u.aud,
            role: u.role,
            email: u.email,
            email_confirmed_at: u.email_confirmed_at,
            phone: u.phone,
            confirmed_at: u.confirmed_at,
            last_sign_in_at: u.last_sign_in_at,
            app_metadata: u.app_metadata,
            user_metadata: u.user_metadata,
            identities: u.identities,
            created_at: u.created_at,
            updated_at: u.updated_at,
            is_anonymous: u.is_anonymous,
        }
    }
}

/// The token response of `/auth/v1/token` (GoTrue's `AccessTokenResponse`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    /// ES256 JWT.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Expiry (unix seconds).
    pub expires_at: i64,
    /// Single-use refresh token.
    pub refresh_token: String,
    /// The user.
    pub user: UserView,
}

impl From<builtin::Session> for Session {
    fn from(s: builtin::Session) -> Self {
        Self {
            access_token: s.access_token,
            token_type: s.token_type,
            expires_in: s.expires_in,
            expires_at: s.expires_at,
            refresh_token: s.refresh_token,
            user: s.user.into(),
        }
    }
}

/// One public key in a JWKS document (RFC 7517).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// base64url X coordinate.
    pub x: String,
    /// base64url Y coordinate.
    pub y: String,
    /// Key id.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `["verify"]`.
    pub key_ops: Vec<String>,
}

impl From<&keys::PublicJwk> for PublicJwk {
    fn from(k: &keys::PublicJwk) -> Self {
        Self {
            kty: k.kty.clone(),
            crv: k.crv.clone(),
            x: k.x.clone(),
            y: k.y.clone(),
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            use_: k.use_.clone(),
            key_ops: k.key_ops.clone(),
        }
    }
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    /// Token id.
    pub id: Uuid,
    /// Unique name among active tokens (the audit log's actor is `token:<name>:<id>`).
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<crate::db::auth::ApiToken> for ApiToken {
    fn from(t: crate::db::auth::ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_by: t.created_by,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}
