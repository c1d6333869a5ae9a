//! API tokens for automation: `sdmd_<random>`, shown once, stored as a SHA-256 hash, listed by
//! name and prefix. The audit log names their actions `token:<name>:<id>` (a name can be reused
//! once its token is revoked; the id cannot). Only a user session creates tokens (`api::auth`).

use crate::change::{Change, Record};
use crate::db::PgPool;
use chrono::{DateTime, Utc};
use sdmd_model::audit::Action;
use serde_json::json;
use uuid::Uuid;

use super::{AuthError, Identity, random_token, secret_hash};
use crate::db::audit::AuditContext;
use crate::db::auth::{self as db, ApiToken};

/// Every API token starts with this, which is how the gate tells them from JWTs.
pub const TOKEN_PREFIX: &str = "sdmd_";

/// Characters of the token kept in clear to recognise it in listings.
const SHOWN: usize = 12;

/// A freshly created token with its secret.
pub struct Created {
    /// The stored token.
    pub token: ApiToken,
    /// The full secret: shown once, never stored.
    pub secret: String,
}

/// Creates a token, audited as `token.create`.
pub async fn create(
    pool: &PgPool,
    ctx: &AuditContext,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Created, AuthError> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(AuthError::Validation(
            "name must be 1-64 characters of letters, digits, `-`, `_` or `.`.".into(),
        ));
    }
    if expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(AuthError::Validation(
            "expires_at must be in the future.".into(),
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
    let prefix: String = secret.chars().take(SHOWN).collect();
    let mut tx = Change::begin(pool).await?;
    let token = db::insert_api_token(
        &mut tx,
        name,
        &prefix,
        &secret_hash(&secret),
        &ctx.actor,
        expires_at,
    )
    .await
    .map_err(|e| match &e {
        e if crate::db::violated_constraint(e) == Some("api_tokens_name_key") => {
            AuthError::Conflict(format!("An API token named {name} already exists."))
        }
        _ => AuthError::Database(e),
    })?;
    let entry = Record {
        action: Action::TokenCreate,
        target: Some(name),
        result: "ok",
        details: json!({"id": token.id, "prefix": prefix, "expires_at": expires_at}),
    };
    tx.record(ctx, entry).await?;
    tx.commit_unpublished().await?;
    Ok(Created { token, secret })
}

/// Revokes a token, audited as `token.revoke`.
pub async fn revoke(pool: &PgPool, ctx: &AuditContext, id: Uuid) -> Result<(), AuthError> {
    let mut tx = Change::begin(pool).await?;
    let Some(name) = db::revoke_api_token(&mut tx, id).await? else {
        return Err(AuthError::NotFound(
            "No active API token with that id.".into(),
        ));
    };
    let entry = Record {
        action: Action::TokenRevoke,
        target: Some(&name),
        result: "ok",
        details: json!({"id": id}),
    };
    tx.record(ctx, entry).await?;
    tx.commit_unpublished().await?;
    Ok(())
}

/// Active tokens.
pub async fn list(pool: &PgPool) -> Result<Vec<ApiToken>, AuthError> {
    Ok(db::list_api_tokens(pool).await?)
}

/// How the audit log names a token: `token:<name>:<id>`.
pub fn actor(name: &str, id: Uuid) -> String {
    format!("token:{name}:{id}")
}

/// The identity of a bearer API token.
pub async fn authenticate(pool: &PgPool, secret: &str) -> Result<Identity, AuthError> {
    match db::use_api_token(pool, &secret_hash(secret)).await? {
        Some((id, name)) => Ok(Identity {
            actor: actor(&name, id),
            user_id: None,
            session_id: None,
        }),
        None => Err(AuthError::Unauthorized(
            "unknown, revoked or expired API token".into(),
        )),
    }
}
