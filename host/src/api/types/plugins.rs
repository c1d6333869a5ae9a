//! Shapes of `/api/v1/plugins`, a service's plugins and the global notifiers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::plugins::Capability;
use crate::plugins::store;
use crate::plugins::types::LogLine;

/// The OpenAPI shape of a stored manifest (the JSON of [`Manifest`], which the plugin host
/// defines without OpenAPI). Only declares; never built.
#[derive(ToSchema)]
#[schema(as = PluginManifest)]
#[allow(dead_code)]
pub struct ManifestSchema {
    /// Stable identifier.
    id: String,
    /// Display name.
    name: String,
    /// The plugin's own version.
    version: String,
    /// The worlds it exports: `update-strategy`, `health-check`, `notifier`.
    kinds: Vec<String>,
    /// What it does.
    description: Option<String>,
    /// The `sdmd:plugin` WIT version it was built against.
    wit: Option<String>,
    /// Host interfaces it asks for: `log`, `config`, `registry`, `http`.
    capabilities: Option<Vec<String>>,
    /// A JSON Schema subset describing its settings.
    #[schema(value_type = Option<Object>)]
    config_schema: Option<Value>,
}

/// The OpenAPI shape of stored grants (what the administrator sent; every part optional).
#[derive(ToSchema)]
#[schema(as = PluginGrants)]
#[allow(dead_code)]
pub struct GrantsSchema {
    /// Capabilities granted.
    capabilities: Option<Vec<String>>,
    /// The `http` allow-list.
    http: Option<HttpGrantSchema>,
}

/// The OpenAPI shape of the `http` grant.
#[derive(ToSchema)]
#[schema(as = PluginHttpGrant)]
#[allow(dead_code)]
pub struct HttpGrantSchema {
    /// Allowed `scheme://host[:port]` patterns.
    allow: Option<Vec<String>>,
}

/// The OpenAPI shape of one line a plugin logged during a test run.
#[derive(ToSchema)]
#[schema(as = PluginLogLine)]
#[allow(dead_code)]
pub struct LogLineSchema {
    /// Severity or stream.
    level: String,
    /// Text.
    message: String,
}

/// A plugin as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginView {
    /// Manifest id.
    pub id: String,
    /// Current version string.
    pub version: String,
    /// The current manifest.
    #[schema(value_type = ManifestSchema)]
    pub manifest: Value,
    /// WIT version, imports, exports of the current version.
    #[schema(value_type = Object)]
    pub inspection: Value,
    /// SHA-256 of the current wasm.
    pub sha256: String,
    /// Size in bytes.
    pub size: i32,
    /// Whether services may use it.
    pub enabled: bool,
    /// The admin's grants.
    #[schema(value_type = GrantsSchema)]
    pub grants: Value,
    /// Declared capabilities not granted yet (must be empty to enable).
    #[schema(value_type = Vec<String>)]
    pub missing_grants: Vec<Capability>,
    /// The admin's settings.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Effective limits.
    #[schema(value_type = Object)]
    pub limits: Value,
    /// How events reach a notifier: cooldown and batching (defaults: off).
    pub delivery: Delivery,
    /// First upload.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<store::PluginView> for PluginView {
    fn from(v: store::PluginView) -> Self {
        Self {
            id: v.id,
            version: v.version,
            manifest: v.manifest,
            inspection: v.inspection,
            sha256: v.sha256,
            size: v.size,
            enabled: v.enabled,
            grants: v.grants,
            missing_grants: v.missing_grants,
            config: v.config,
            limits: v.limits,
            delivery: v.delivery.into(),
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A plugin with its versions and users.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginDetail {
    /// The plugin.
    #[serde(flatten)]
    pub plugin: PluginView,
    /// Uploaded versions, newest first.
    pub versions: Vec<VersionView>,
    /// Services using it (`*` = the global notifiers).
    pub used_by: Vec<String>,
}

impl From<store::PluginDetail> for PluginDetail {
    fn from(d: store::PluginDetail) -> Self {
        Self {
            plugin: d.plugin.into(),
            versions: d.versions.into_iter().map(Into::into).collect(),
            used_by: d.used_by,
        }
    }
}

/// One uploaded version.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

impl From<store::VersionView> for VersionView {
    fn from(v: store::VersionView) -> Self {
        Self {
            sha256: v.sha256,
            version: v.version,
            size: v.size,
            uploaded_by: v.uploaded_by,
            uploaded_at: v.uploaded_at,
        }
    }
}

/// A change to a plugin's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginPatch {
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Replace the grants, e.g. `{"capabilities": ["http"], "http": {"allow": ["https://ntfy.sh"]}}`.
    #[schema(value_type = Option<Object>)]
    pub grants: Option<Value>,
    /// Replace the settings (validated against the manifest's schema).
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// Replace the limits (`deadline_ms`, `memory_bytes`, `log_bytes`, `http_max_body`).
    #[schema(value_type = Option<Object>)]
    pub limits: Option<Value>,
    /// Switch the current version to an earlier upload (its SHA-256).
    pub version_sha256: Option<String>,
    /// Replace the delivery options of a notifier, e.g. `{"cooldown_seconds": 3600,
    /// "batch_seconds": 60}`.
    pub delivery: Option<Delivery>,
}

impl From<PluginPatch> for store::PluginPatch {
    fn from(p: PluginPatch) -> Self {
        Self {
            enabled: p.enabled,
            grants: p.grants,
            config: p.config,
            limits: p.limits,
            version_sha256: p.version_sha256,
            delivery: p.delivery.map(Into::into),
        }
    }
}

/// How events reach one notifier plugin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    /// Tell this notifier about a (service, event kind) at most once per this many seconds;
    /// 0 = every event.
    pub cooldown_seconds: u32,
    /// Collect events of one kind for this many seconds and deliver them as one; 0 = at once.
    pub batch_seconds: u32,
}

impl From<crate::notify::Delivery> for Delivery {
    fn from(d: crate::notify::Delivery) -> Self {
        Self {
            cooldown_seconds: d.cooldown_seconds,
            batch_seconds: d.batch_seconds,
        }
    }
}

impl From<Delivery> for crate::notify::Delivery {
    fn from(d: Delivery) -> Self {
        Self {
            cooldown_seconds: d.cooldown_seconds,
            batch_seconds: d.batch_seconds,
        }
    }
}

/// The result of a test invocation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvokeResult {
    /// The plugin's output (JSON), when it succeeded.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// Why it failed, when it did.
    pub error: Option<InvokeError>,
    /// Log lines, stdout and stderr (capped).
    #[schema(value_type = Vec<LogLineSchema>)]
    pub logs: Vec<LogLine>,
    /// Wall-clock milliseconds.
    pub duration_ms: f64,
}

impl From<store::InvokeResult> for InvokeResult {
    fn from(r: store::InvokeResult) -> Self {
        Self {
            output: r.output,
            error: r.error.map(Into::into),
            logs: r.logs,
            duration_ms: r.duration_ms,
        }
    }
}

/// A failed invocation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvokeError {
    /// `failed`, `deadline`, `memory`, `panic`, `trap`, `timeout`, `not_granted`, `invalid_input`, ...
    pub code: String,
    /// For humans.
    pub message: String,
}

impl From<store::InvokeError> for InvokeError {
    fn from(e: store::InvokeError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

/// Which plugins a service uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePlugins {
    /// The update strategy; `null` = the built-in `digest` strategy.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Health checks run after an update, in order.
    #[serde(default)]
    pub health_checks: Vec<String>,
    /// Notifiers for this service (the global ones are told too).
    #[serde(default)]
    pub notifiers: Vec<String>,
}

impl From<store::ServicePlugins> for ServicePlugins {
    fn from(p: store::ServicePlugins) -> Self {
        Self {
            strategy: p.strategy,
            health_checks: p.health_checks,
            notifiers: p.notifiers,
        }
    }
}

impl From<ServicePlugins> for store::ServicePlugins {
    fn from(p: ServicePlugins) -> Self {
        Self {
            strategy: p.strategy,
            health_checks: p.health_checks,
            notifiers: p.notifiers,
        }
    }
}

/// The global notifiers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalNotifiers {
    /// Notifier plugin ids, told about every service.
    pub notifiers: Vec<String>,
}

impl From<store::GlobalNotifiers> for GlobalNotifiers {
    fn from(n: store::GlobalNotifiers) -> Self {
        Self {
            notifiers: n.notifiers,
        }
    }
}

impl From<GlobalNotifiers> for store::GlobalNotifiers {
    fn from(n: GlobalNotifiers) -> Self {
        Self {
            notifiers: n.notifiers,
        }
    }
}
