//! Stored per-registry credentials: the domain side of `/api/v1/registries`.

use chrono::{DateTime, Utc};
use sdmd_model::audit::Action;
use serde_json::json;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::error::{Error, Result};
use crate::registry::Credentials;
use crate::spec::Problem;
use crate::state::AppState;

/// What the API shows of stored credentials (never the password).
#[derive(Debug, Clone)]
pub struct RegistryView {
    /// Registry host, e.g. `ghcr.io` or `127.0.0.1:5000`.
    pub host: String,
    /// User name.
    pub username: String,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

/// Credentials to store.
#[derive(Debug, Clone)]
pub struct NewCredentials {
    /// User name.
    pub username: String,
    /// Password or access token (write-only).
    pub password: String,
}

fn normalise(host: &str) -> String {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.to_ascii_lowercase(),
    }
}

fn boxed(state: &AppState) -> Result<&crate::secrets::SecretBox> {
    state
        .secrets
        .as_deref()
        .ok_or_else(|| Error::Secret("no secret key is configured".into()))
}

fn view(r: crate::db::registries::Row) -> RegistryView {
    RegistryView {
        host: r.host,
        username: r.username,
        updated_at: r.updated_at,
    }
}

/// Every registry with stored credentials.
pub async fn list(state: &AppState) -> Result<Vec<RegistryView>> {
    Ok(crate::db::registries::list(&state.db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// One registry's stored credentials (without the password).
pub async fn get(state: &AppState, host: &str) -> Result<RegistryView> {
    let host = normalise(host);
    crate::db::registries::get(&state.db, &host)
        .await?
        .map(view)
        .ok_or(Error::RegistryNotFound(host))
}

/// Stores credentials, sealed; audited without the secret.
pub async fn put(
    state: &AppState,
    ctx: &AuditContext,
    host: &str,
    c: NewCredentials,
) -> Result<RegistryView> {
    let host = normalise(host);
    let mut problems = Vec::new();
    let valid_host = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | ':' | '[' | ']'));
    if !valid_host {
        problems.push(Problem {
            field: "host".into(),
            message: format!("`{host}` is not a registry host (e.g. ghcr.io or 127.0.0.1:5000)"),
        });
    }
    if c.username.trim().is_empty() {
        problems.push(Problem {
            field: "username".into(),
            message: "is required".into(),
        });
    }
    if c.password.is_empty() {
        problems.push(Problem {
            field: "password".into(),
            message: "is required".into(),
        });
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let sealed = boxed(state)?
        .seal(c.password.as_bytes(), &host)
        .map_err(|e| Error::Secret(e.to_string()))?;
    let mut tx = Change::begin(&state.db).await?;
    let row = crate::db::registries::put(&mut tx, &host, &c.username, &sealed).await?;
    tx.record(
        ctx,
        Record {
            action: Action::RegistryPut,
            target: Some(&host),
            result: "ok",
            details: json!({"username": c.username}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(view(row))
}

/// Forgets a registry's credentials; audited.
pub async fn delete(state: &AppState, ctx: &AuditContext, host: &str) -> Result<()> {
    let host = normalise(host);
    let mut tx = Change::begin(&state.db).await?;
    if !crate::db::registries::delete(&mut tx, &host).await? {
        return Err(Error::RegistryNotFound(host));
    }
    tx.record(
        ctx,
        Record {
            action: Action::RegistryDelete,
            target: Some(&host),
            result: "ok",
            details: json!({}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(())
}

/// The credentials to use for a registry host, opened; `None` when none are stored.
pub async fn for_host(state: &AppState, registry: &str) -> Result<Option<Credentials>> {
    let host = normalise(registry);
    let Some(row) = crate::db::registries::get(&state.db, &host).await? else {
        return Ok(None);
    };
    let plain = boxed(state)?
        .open(&row.secret, &host)
        .map_err(|e| Error::Secret(e.to_string()))?;
    let password = String::from_utf8(plain)
        .map_err(|_| Error::Secret("a stored password is not UTF-8".into()))?;
    Ok(Some(Credentials {
        username: row.username,
        password,
    }))
}
