//! The audit log's entries as the rest of SDMD sees them (storage and the hash chain are
//! `sdmd-store`'s).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A stored audit row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AuditEntry))]
pub struct Entry {
    /// Monotonic id (the pagination cursor).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// `ok` or an error code.
    pub result: String,
    /// Request id (made by the server).
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Technical details.
    pub details: Option<serde_json::Value>,
    /// Hex link of the hash chain: `HMAC-SHA256(audit key, previous hash ‖ canonical row)`
    /// (rows written before the HMAC anchor: plain `sha256(previous hash ‖ canonical row)`).
    pub hash: Option<String>,
    /// The `x-request-id` the client sent, if any.
    pub client_request_id: Option<String>,
}

crate::text_enum! {
    /// What an audit row records: every action SDMD writes, with its one spelling. The audit log
    /// itself stores text, so a row of an older or newer SDMD (or a test's own) still reads back;
    /// everything this build writes goes through this enum.
    pub enum Action ("audit action") {
        /// A service definition was stored for the first time.
        ServiceCreate = "service.create",
        /// A new revision of a definition was stored.
        ServiceEdit = "service.edit",
        /// A service was removed.
        ServiceDelete = "service.delete",
        /// Containers created outside SDMD were taken over.
        ServiceAdopt = "service.adopt",
        /// A service's containers were (re)created from its definition.
        ServiceDeploy = "service.deploy",
        /// The owner of a service's bind sources was changed (`POST …/permissions?apply=true`).
        ServicePermissions = "service.permissions",
        /// A service was started.
        ServiceStart = "service.start",
        /// A service was stopped.
        ServiceStop = "service.stop",
        /// A service was restarted.
        ServiceRestart = "service.restart",
        /// A service's images were pulled.
        ServicePull = "service.pull",
        /// A service's images were checked against their registries.
        ServiceCheck = "service.check",
        /// A service was updated to newer images.
        ServiceUpdate = "service.update",
        /// A service's update schedule was changed.
        ServiceSchedule = "service.schedule",
        /// A service's plugin bindings were changed.
        ServicePlugins = "service.plugins",
        /// A secret file of a service's project was shown in clear.
        ServiceFileReveal = "service.file.reveal",
        /// Registry credentials were stored.
        RegistryPut = "registry.put",
        /// Registry credentials were removed.
        RegistryDelete = "registry.delete",
        /// SDMD's global variables were replaced (names and secrecy in the details, never values).
        VariablesSet = "variables.set",
        /// The app template catalogs were replaced (the URLs in the details).
        TemplateSourcesSet = "templates.sources.set",
        /// A template catalog file was uploaded (its name, size and template count in the details).
        TemplateFilePut = "templates.file.put",
        /// A template catalog file was removed.
        TemplateFileDelete = "templates.file.delete",
        /// The shared roots were replaced (names and paths in the details).
        RootsSet = "settings.roots.set",
        /// A plugin was installed.
        PluginUpload = "plugin.upload",
        /// A plugin's grants or settings were changed.
        PluginUpdate = "plugin.update",
        /// A plugin was removed.
        PluginDelete = "plugin.delete",
        /// A plugin was called by hand.
        PluginInvoke = "plugin.invoke",
        /// The global notifiers were changed.
        NotifiersUpdate = "notifiers.update",
        /// A sign-in attempt.
        AuthLogin = "auth.login",
        /// The first-run setup (the first administrator).
        AuthSetup = "auth.setup",
        /// A refresh token was used twice: its session was ended.
        AuthRefreshReuse = "auth.refresh_reuse",
        /// A sign-out.
        AuthLogout = "auth.logout",
        /// A user was created.
        UserCreate = "user.create",
        /// A user's password was changed.
        UserPasswd = "user.passwd",
        /// A user was removed.
        UserRemove = "user.remove",
        /// An API token was created.
        TokenCreate = "token.create",
        /// An API token was revoked.
        TokenRevoke = "token.revoke",
        /// Audit rows older than the retention were removed (the chain's anchor moves).
        AuditPrune = "audit.prune",
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn every_action_round_trips_its_spelling() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
        }
        assert!("service.explode".parse::<Action>().is_err());
    }
}
