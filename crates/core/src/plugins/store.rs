//! Plugin management on top of the runtime: upload, list, grant/configure/enable, delete, invoke, and
//! which plugins a service uses. State lives in PostgreSQL (SQL in `db::plugins`), so every replica sees
//! the same plugins; each replica compiles and caches them itself ([`PluginHost`]).

use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError};

use sdmd_model::audit::Action;
use serde::Serialize;
use serde_json::{Value, json};

use super::types::LogLine;
use super::{Capability, Grants, Inspection, Kind, Limits, Manifest, Plugin, PluginError, Runtime};
use crate::change::{Change, Record};
use crate::db;
use crate::db::audit::AuditContext;
pub use crate::runtime::PluginHost;
use crate::state::AppState;
use sdmd_model::plugins::BindingRole;

impl PluginHost {
    /// The runtime, created on first use, with the core registry client behind the `registry`
    /// capability.
    pub fn runtime_for(&self, state: &AppState) -> Result<Runtime, PluginError> {
        let rt = self.runtime()?;
        if !self
            .inner
            .registry_set
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            rt.set_registry(Arc::new(super::registry_access::CoreRegistry::new(
                state.registry.clone(),
            )));
        }
        Ok(rt)
    }

    async fn load(
        &self,
        state: &AppState,
        row: &db::plugins::PluginRow,
    ) -> Result<Plugin, StoreError> {
        let key = format!(
            "{}|{}|{}|{}",
            row.current_sha256, row.grants.0, row.config.0, row.limits.0
        );
        if let Some((k, p)) = self
            .inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&row.id)
            && *k == key
        {
            return Ok(p.clone());
        }
        let wasm = db::plugins::wasm(&state.db, &row.id, &row.current_sha256)
            .await?
            .ok_or_else(|| StoreError::NotFound(row.id.clone()))?;
        let manifest: Manifest = serde_json::from_value(row.manifest.0.clone())
            .map_err(|e| StoreError::Invalid(format!("stored manifest: {e}")))?;
        let grants: Grants = serde_json::from_value(row.grants.0.clone()).unwrap_or_default();
        let limits: Limits = serde_json::from_value(row.limits.0.clone()).unwrap_or_default();
        let plugin = self
            .runtime_for(state)?
            .load(
                wasm.into(),
                Some(manifest),
                grants,
                row.config.0.clone(),
                limits,
            )
            .await?;
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(row.id.clone(), (key, plugin.clone()));
        Ok(plugin)
    }
}

/// Why a plugin operation failed; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such plugin.
    #[error("plugin `{0}` not found")]
    NotFound(String),
    /// No such service.
    #[error("service `{0}` not found")]
    ServiceNotFound(String),
    /// The artefact or a call failed in the runtime (validation errors are `is_validation`).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A request value is invalid (grant pattern, limits, binding).
    #[error("{0}")]
    Invalid(String),
    /// The plugin is still used.
    #[error("plugin `{id}` is used by {}", .users.join(", "))]
    InUse {
        /// Plugin id.
        id: String,
        /// Service names (`*` = global notifiers).
        users: Vec<String>,
    },
    /// PostgreSQL failed.
    #[error("database error: {0}")]
    Database(#[from] crate::db::DbError),
}

/// A plugin as the API shows it.
#[derive(Debug, Clone)]
pub struct PluginView {
    /// Manifest id.
    pub id: String,
    /// Current version string.
    pub version: String,
    /// The current manifest.
    pub manifest: Value,
    /// WIT version, imports, exports of the current version.
    pub inspection: Value,
    /// SHA-256 of the current wasm.
    pub sha256: String,
    /// Size in bytes.
    pub size: i32,
    /// Whether services may use it.
    pub enabled: bool,
    /// The admin's grants.
    pub grants: Value,
    /// Declared capabilities not granted yet (must be empty to enable).
    pub missing_grants: Vec<Capability>,
    /// The admin's settings.
    pub config: Value,
    /// Effective limits.
    pub limits: Value,
    /// How events reach a notifier: cooldown and batching (defaults: off).
    pub delivery: crate::notify::Delivery,
    /// First upload.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A plugin with its versions and users.
#[derive(Debug, Clone)]
pub struct PluginDetail {
    /// The plugin.
    pub plugin: PluginView,
    /// Uploaded versions, newest first.
    pub versions: Vec<VersionView>,
    /// Services using it (`*` = the global notifiers).
    pub used_by: Vec<String>,
}

/// One uploaded version.
#[derive(Debug, Clone)]
pub struct VersionView {
    /// SHA-256 of the wasm.
    pub sha256: String,
    /// Version string.
    pub version: String,
    /// Size.
    pub size: i32,
    /// Uploader.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

fn view(row: db::plugins::PluginRow) -> PluginView {
    let manifest: Option<Manifest> = serde_json::from_value(row.manifest.0.clone()).ok();
    let grants: Grants = serde_json::from_value(row.grants.0.clone()).unwrap_or_default();
    let limits: Limits = serde_json::from_value(row.limits.0.clone()).unwrap_or_default();
    PluginView {
        missing_grants: manifest
            .as_ref()
            .map(|m| super::missing_grants(m, &grants))
            .unwrap_or_default(),
        id: row.id,
        version: row.version,
        manifest: row.manifest.0,
        inspection: row.inspection.0,
        sha256: row.current_sha256,
        size: row.size,
        enabled: row.enabled,
        grants: row.grants.0,
        config: row.config.0,
        limits: serde_json::to_value(limits).unwrap_or_default(),
        delivery: serde_json::from_value(row.delivery.0).unwrap_or_default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// All plugins.
pub async fn list(state: &AppState) -> Result<Vec<PluginView>, StoreError> {
    Ok(db::plugins::list(&state.db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// One plugin with versions and users.
pub async fn get(state: &AppState, id: &str) -> Result<PluginDetail, StoreError> {
    let mut conn = state.db.acquire().await?;
    let row = db::plugins::get(&mut conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.into()))?;
    let versions = db::plugins::versions(&mut conn, id)
        .await?
        .into_iter()
        .map(|v| VersionView {
            sha256: v.sha256,
            version: v.version,
            size: v.size,
            uploaded_by: v.uploaded_by,
            uploaded_at: v.uploaded_at,
        })
        .collect();
    let used_by = db::plugins::users(&mut conn, id).await?;
    Ok(PluginDetail {
        plugin: view(row),
        versions,
        used_by,
    })
}

/// Validate and store an upload. A new id creates the plugin (disabled, nothing granted); a known id gets
/// a new current version, keeping grants and settings but disabling it when the new version needs more
/// than was granted or the settings no longer fit its schema. Returns whether the plugin was created.
pub async fn upload(
    state: &AppState,
    ctx: &AuditContext,
    wasm: Vec<u8>,
) -> Result<(bool, PluginView), StoreError> {
    let wasm: Arc<[u8]> = wasm.into();
    let inspection = state
        .plugins
        .runtime_for(state)?
        .inspect(wasm.clone(), None)
        .await?;
    let Inspection {
        manifest,
        sha256,
        size,
        ..
    } = &inspection;
    let manifest_json =
        serde_json::to_value(manifest).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let inspection_json = json!({"wit": inspection.wit, "imports": inspection.imports, "exports": inspection.exports});
    let id = manifest.id.as_str();
    let mut tx = Change::begin(&state.db).await?;
    let existing = db::plugins::get_for_update(&mut tx, id).await?;
    let created = existing.is_none();
    if created {
        db::plugins::insert_plugin(&mut tx, id, sha256).await?;
    }
    let new = db::plugins::NewVersion {
        id,
        sha256,
        version: &manifest.version,
        manifest: &manifest_json,
        inspection: &inspection_json,
        wasm: &wasm,
        uploaded_by: &ctx.actor,
    };
    db::plugins::insert_version(&mut tx, &new).await?;
    let mut disabled_because = None;
    if let Some(old) = &existing {
        let grants: Grants = serde_json::from_value(old.grants.0.clone()).unwrap_or_default();
        let mut enabled = old.enabled;
        if enabled && !super::missing_grants(manifest, &grants).is_empty() {
            enabled = false;
            disabled_because = Some("the new version needs capabilities that are not granted");
        }
        if enabled
            && super::validate_config(manifest.config_schema.as_ref(), &old.config.0).is_err()
        {
            enabled = false;
            disabled_because = Some("the settings do not fit the new version's schema");
        }
        let settings = db::plugins::Settings {
            current_sha256: sha256,
            grants: &old.grants.0,
            config: &old.config.0,
            limits: &old.limits.0,
            enabled,
        };
        db::plugins::update(&mut tx, id, &settings).await?;
    }
    let details = json!({"version": manifest.version, "sha256": sha256, "size": size, "created": created,
        "disabled": disabled_because});
    let row = commit_change(state, tx, ctx, Action::PluginUpload, id, details).await?;
    Ok((created, view(row)))
}

/// The end of a change to a plugin: its audit entry, the plugin as it is now, the commit (which
/// publishes the change).
async fn commit_change(
    state: &AppState,
    mut tx: Change<'_>,
    ctx: &AuditContext,
    action: Action,
    id: &str,
    details: Value,
) -> Result<db::plugins::PluginRow, StoreError> {
    tx.record(
        ctx,
        Record {
            action,
            target: Some(id),
            result: "ok",
            details,
        },
    )
    .await?;
    let row = db::plugins::get(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.into()))?;
    tx.commit(&state.bus).await?;
    Ok(row)
}

/// A change to a plugin's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct PluginPatch {
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Replace the grants, e.g. `{"capabilities": ["http"], "http": {"allow": ["https://ntfy.sh"]}}`.
    pub grants: Option<Value>,
    /// Replace the settings (validated against the manifest's schema).
    pub config: Option<Value>,
    /// Replace the limits (`deadline_ms`, `memory_bytes`, `log_bytes`, `http_max_body`).
    pub limits: Option<Value>,
    /// Switch the current version to an earlier upload (its SHA-256).
    pub version_sha256: Option<String>,
    /// Replace the delivery options of a notifier, e.g. `{"cooldown_seconds": 3600,
    /// "batch_seconds": 60}`.
    pub delivery: Option<crate::notify::Delivery>,
}

/// Refuses limits outside what the host allows.
fn check_limits(value: &Value) -> Result<(), StoreError> {
    let limits: Limits = serde_json::from_value(value.clone())
        .map_err(|e| StoreError::Invalid(format!("limits: {e}")))?;
    if limits.deadline_ms == 0 || limits.deadline_ms > super::MAX_DEADLINE_MS {
        return Err(StoreError::Invalid(format!(
            "limits: deadline_ms must be 1..={}",
            super::MAX_DEADLINE_MS
        )));
    }
    if limits.memory_bytes < (1 << 20) || limits.memory_bytes > super::MAX_MEMORY_BYTES {
        return Err(StoreError::Invalid(format!(
            "limits: memory_bytes must be 1 MiB..={}",
            super::MAX_MEMORY_BYTES
        )));
    }
    Ok(())
}

/// Grant, configure, limit, enable/disable, or switch the version of a plugin.
pub async fn update(
    state: &AppState,
    ctx: &AuditContext,
    id: &str,
    patch: PluginPatch,
) -> Result<PluginView, StoreError> {
    let mut tx = Change::begin(&state.db).await?;
    let mut row = db::plugins::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.into()))?;
    if let Some(sha) = &patch.version_sha256
        && *sha != row.current_sha256
    {
        let known = db::plugins::versions(&mut tx, id)
            .await?
            .iter()
            .any(|v| v.sha256 == *sha);
        if !known {
            return Err(StoreError::Invalid(format!(
                "plugin `{id}` has no version {sha}"
            )));
        }
        db::plugins::update(
            &mut tx,
            id,
            &db::plugins::Settings {
                current_sha256: sha,
                grants: &row.grants.0,
                config: &row.config.0,
                limits: &row.limits.0,
                enabled: row.enabled,
            },
        )
        .await?;
        row = db::plugins::get(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.into()))?;
    }
    let manifest: Manifest = serde_json::from_value(row.manifest.0.clone())
        .map_err(|e| StoreError::Invalid(format!("stored manifest: {e}")))?;
    let grants_value = patch.grants.clone().unwrap_or_else(|| row.grants.0.clone());
    let grants: Grants = serde_json::from_value(grants_value.clone())
        .map_err(|e| StoreError::Invalid(format!("grants: {e}")))?;
    for cap in &grants.capabilities {
        if !manifest.capabilities.contains(cap) {
            return Err(StoreError::Invalid(format!(
                "grants: the plugin does not declare the {cap} capability"
            )));
        }
    }
    let config = patch.config.clone().unwrap_or_else(|| row.config.0.clone());
    if patch.config.is_some() {
        super::validate_config(manifest.config_schema.as_ref(), &config)
            .map_err(PluginError::from)?;
    }
    let limits_value = patch.limits.clone().unwrap_or_else(|| row.limits.0.clone());
    check_limits(&limits_value)?;
    if let Some(d) = &patch.delivery {
        d.validate(manifest.kinds.contains(&Kind::Notifier))
            .map_err(StoreError::Invalid)?;
        db::plugins::set_delivery(&mut tx, id, &serde_json::to_value(d).unwrap_or_default())
            .await?;
    }
    let enabled = patch.enabled.unwrap_or(row.enabled);
    if enabled {
        let missing = super::missing_grants(&manifest, &grants);
        if !missing.is_empty() {
            return Err(PluginError::NotGranted {
                plugin: id.into(),
                missing,
            }
            .into());
        }
        super::validate_config(manifest.config_schema.as_ref(), &config)
            .map_err(PluginError::from)?;
    }
    let settings = db::plugins::Settings {
        current_sha256: &row.current_sha256,
        grants: &grants_value,
        config: &config,
        limits: &limits_value,
        enabled,
    };
    db::plugins::update(&mut tx, id, &settings).await?;
    // Settings may hold secrets (tokens): the audit row names the changed keys, not their values.
    let config_keys: Option<Vec<&String>> = patch
        .config
        .as_ref()
        .and_then(Value::as_object)
        .map(|m| m.keys().collect());
    let details = json!({"enabled": patch.enabled, "grants": patch.grants, "config_keys": config_keys,
        "limits": patch.limits, "version_sha256": patch.version_sha256, "delivery": patch.delivery});
    let row = commit_change(state, tx, ctx, Action::PluginUpdate, id, details).await?;
    Ok(view(row))
}

/// Delete a plugin and all its versions; refused while a service or the global list uses it.
pub async fn delete(state: &AppState, ctx: &AuditContext, id: &str) -> Result<(), StoreError> {
    let mut tx = Change::begin(&state.db).await?;
    db::plugins::get_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.into()))?;
    let users = db::plugins::users(&mut tx, id).await?;
    if !users.is_empty() {
        return Err(StoreError::InUse {
            id: id.into(),
            users,
        });
    }
    db::plugins::delete(&mut tx, id).await?;
    tx.record(
        ctx,
        Record {
            action: Action::PluginDelete,
            target: Some(id),
            result: "ok",
            details: json!({}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    state
        .plugins
        .inner
        .loaded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id);
    Ok(())
}

/// The result of a test invocation.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    /// The plugin's output (JSON), when it succeeded.
    pub output: Option<Value>,
    /// Why it failed, when it did.
    pub error: Option<InvokeError>,
    /// Log lines, stdout and stderr (capped).
    pub logs: Vec<LogLine>,
    /// Wall-clock milliseconds.
    pub duration_ms: f64,
}

/// A failed invocation.
#[derive(Debug, Clone)]
pub struct InvokeError {
    /// `failed`, `deadline`, `memory`, `panic`, `trap`, `timeout`, `not_granted`, `invalid_input`, ...
    pub code: String,
    /// For humans.
    pub message: String,
}

/// The snake_case code of a plugin error (API and invoke results).
pub fn error_code(e: &PluginError) -> &'static str {
    match e {
        PluginError::NotAComponent(_) => "not_a_component",
        PluginError::TooLarge(_) => "too_large",
        PluginError::Manifest(super::ManifestError::Config(_)) => "invalid_config",
        PluginError::Manifest(_) => "invalid_manifest",
        PluginError::UnsupportedWit { .. } => "unsupported_wit_version",
        PluginError::WrongWorld { .. } => "wrong_world",
        PluginError::ForbiddenImport(_) => "forbidden_import",
        PluginError::NotGranted { .. } => "not_granted",
        PluginError::NotKind { .. } => "wrong_kind",
        PluginError::Deadline { .. } => "deadline",
        PluginError::Timeout { .. } => "timeout",
        PluginError::Memory { .. } => "memory",
        PluginError::Panic { .. } => "panic",
        PluginError::Trap { .. } => "trap",
        PluginError::Failed { .. } => "failed",
        PluginError::Internal(_) => "internal",
    }
}

/// Run a plugin on sample input with its stored grants, settings and limits (enabled or not): the
/// dashboard's "test" button. Audited, since a notifier's test really sends.
pub async fn invoke(
    state: &AppState,
    ctx: &AuditContext,
    id: &str,
    input: Value,
) -> Result<InvokeResult, StoreError> {
    let row = {
        let mut conn = state.db.acquire().await?;
        db::plugins::get(&mut conn, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.into()))?
    };
    let plugin = state.plugins.load(state, &row).await?;
    let out = state
        .plugins
        .runtime_for(state)?
        .invoke_json(&plugin, input)
        .await;
    let (output, error) = match out.result {
        Ok(v) => (Some(v), None),
        Err(e) => (
            None,
            Some(InvokeError {
                code: error_code(&e).into(),
                message: e.to_string(),
            }),
        ),
    };
    let result = error.as_ref().map_or("ok", |e| e.code.as_str()).to_string();
    let details = json!({"duration_ms": out.duration.as_secs_f64() * 1e3});
    let mut change = Change::begin(&state.db).await?;
    let record = Record {
        action: Action::PluginInvoke,
        target: Some(id),
        result: &result,
        details,
    };
    change.record(ctx, record).await?;
    change.commit(&state.bus).await?;
    Ok(InvokeResult {
        output,
        error,
        logs: out.logs,
        duration_ms: out.duration.as_secs_f64() * 1e3,
    })
}

/// Which plugins a service uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServicePlugins {
    /// The update strategy; `null` = the built-in `digest` strategy.
    pub strategy: Option<String>,
    /// Health checks run after an update, in order.
    pub health_checks: Vec<String>,
    /// Notifiers for this service (the global ones are told too).
    pub notifiers: Vec<String>,
}

async fn service_id(
    conn: &mut crate::db::PgConnection,
    name: &str,
) -> Result<uuid::Uuid, StoreError> {
    db::plugins::service_id(conn, name)
        .await?
        .ok_or_else(|| StoreError::ServiceNotFound(name.into()))
}

/// A service's plugins.
pub async fn service_plugins(
    state: &AppState,
    service: &str,
) -> Result<ServicePlugins, StoreError> {
    let mut conn = state.db.acquire().await?;
    let sid = service_id(&mut conn, service).await?;
    let mut out = ServicePlugins::default();
    for (role, plugin) in db::plugins::bindings(&mut conn, sid).await? {
        match role {
            BindingRole::Strategy => out.strategy = Some(plugin),
            BindingRole::HealthCheck => out.health_checks.push(plugin),
            BindingRole::Notifier => out.notifiers.push(plugin),
        }
    }
    Ok(out)
}

async fn check_kind(
    conn: &mut crate::db::PgConnection,
    id: &str,
    kind: Kind,
) -> Result<(), StoreError> {
    let row = db::plugins::get(conn, id)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("no plugin `{id}`")))?;
    let manifest: Manifest =
        serde_json::from_value(row.manifest.0).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if !manifest.kinds.contains(&kind) {
        return Err(StoreError::Invalid(format!(
            "plugin `{id}` is not a {kind} plugin"
        )));
    }
    Ok(())
}

fn no_duplicates(what: &str, ids: &[String]) -> Result<(), StoreError> {
    let set: BTreeSet<&String> = ids.iter().collect();
    if set.len() != ids.len() {
        return Err(StoreError::Invalid(format!("{what} lists a plugin twice")));
    }
    Ok(())
}

/// Replace a service's plugins (each must exist and be of the right kind).
pub async fn set_service_plugins(
    state: &AppState,
    ctx: &AuditContext,
    service: &str,
    plugins: ServicePlugins,
) -> Result<ServicePlugins, StoreError> {
    no_duplicates("health_checks", &plugins.health_checks)?;
    no_duplicates("notifiers", &plugins.notifiers)?;
    let mut tx = Change::begin(&state.db).await?;
    let sid = service_id(&mut tx, service).await?;
    let mut rows: Vec<(BindingRole, &str)> = Vec::new();
    if let Some(s) = &plugins.strategy {
        check_kind(&mut tx, s, Kind::UpdateStrategy).await?;
        rows.push((BindingRole::Strategy, s));
    }
    for h in &plugins.health_checks {
        check_kind(&mut tx, h, Kind::HealthCheck).await?;
        rows.push((BindingRole::HealthCheck, h));
    }
    for n in &plugins.notifiers {
        check_kind(&mut tx, n, Kind::Notifier).await?;
        rows.push((BindingRole::Notifier, n));
    }
    db::plugins::set_bindings(&mut tx, sid, &rows).await?;
    let details = serde_json::to_value(&plugins).unwrap_or_default();
    tx.record(
        ctx,
        Record {
            action: Action::ServicePlugins,
            target: Some(service),
            result: "ok",
            details,
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(plugins)
}

/// The global notifiers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GlobalNotifiers {
    /// Notifier plugin ids, told about every service.
    pub notifiers: Vec<String>,
}

/// The global notifiers.
pub async fn global_notifiers(state: &AppState) -> Result<GlobalNotifiers, StoreError> {
    let mut conn = state.db.acquire().await?;
    Ok(GlobalNotifiers {
        notifiers: db::plugins::global_notifiers(&mut conn).await?,
    })
}

/// Replace the global notifiers.
pub async fn set_global_notifiers(
    state: &AppState,
    ctx: &AuditContext,
    notifiers: GlobalNotifiers,
) -> Result<GlobalNotifiers, StoreError> {
    no_duplicates("notifiers", &notifiers.notifiers)?;
    let mut tx = Change::begin(&state.db).await?;
    for n in &notifiers.notifiers {
        check_kind(&mut tx, n, Kind::Notifier).await?;
    }
    db::plugins::set_global_notifiers(&mut tx, &notifiers.notifiers).await?;
    let details = serde_json::to_value(&notifiers).unwrap_or_default();
    tx.record(
        ctx,
        Record {
            action: Action::NotifiersUpdate,
            target: None,
            result: "ok",
            details,
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(notifiers)
}

/// The enabled plugins a service's update uses, loaded and ready to call: what the update pipeline
/// asks for. Disabled or broken plugins are skipped with a warning (an update never fails because a
/// notifier was disabled).
pub struct ResolvedPlugins {
    /// The strategy, if one is bound and enabled.
    pub strategy: Option<Plugin>,
    /// Health checks in order.
    pub health_checks: Vec<Plugin>,
    /// The service's notifiers, then the global ones, with their delivery options.
    pub notifiers: Vec<crate::notify::Notifier>,
}

/// Resolve a service's plugins for an update.
pub async fn resolve(state: &AppState, service: &str) -> Result<ResolvedPlugins, StoreError> {
    let bound = service_plugins(state, service).await?;
    let global = global_notifiers(state).await?;
    let mut conn = state.db.acquire().await?;
    let mut load = async |id: &str| -> Option<(Plugin, Value)> {
        let row = match db::plugins::get(&mut conn, id).await {
            Ok(Some(row)) if row.enabled => row,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(plugin = id, error = %e, "cannot read plugin");
                return None;
            }
        };
        match state.plugins.load(state, &row).await {
            Ok(p) => Some((p, row.delivery.0)),
            Err(e) => {
                tracing::warn!(plugin = id, error = %e, "cannot load plugin");
                None
            }
        }
    };
    let strategy = match &bound.strategy {
        Some(id) => load(id).await.map(|(p, _)| p),
        None => None,
    };
    let mut health_checks = Vec::new();
    for id in &bound.health_checks {
        health_checks.extend(load(id).await.map(|(p, _)| p));
    }
    let mut notifiers = Vec::new();
    let mut seen = BTreeSet::new();
    for id in bound.notifiers.iter().chain(&global.notifiers) {
        if seen.insert(id.clone()) {
            notifiers.extend(
                load(id)
                    .await
                    .map(|(plugin, delivery)| crate::notify::Notifier {
                        plugin,
                        delivery: serde_json::from_value(delivery).unwrap_or_default(),
                    }),
            );
        }
    }
    Ok(ResolvedPlugins {
        strategy,
        health_checks,
        notifiers,
    })
}
