//! The explicit application state handed to handlers and background jobs (no global singletons).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::PgPool;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::docker::Docker;
use crate::events::EventBus;
use crate::live::Live;

/// Everything a request or job needs.
#[derive(Clone)]
pub struct AppState {
    /// PostgreSQL pool.
    pub db: PgPool,
    /// The Docker engine.
    pub docker: Docker,
    /// Live container state from the events stream.
    pub live: Arc<Live>,
    /// Event fan-out for SSE.
    pub bus: EventBus,
    /// One operation at a time per service within this process.
    pub locks: ServiceLocks,
    /// Cancelled when the server shuts down: long-lived streams end with it.
    pub shutdown: CancellationToken,
    /// Authentication (mode, keys, JWKS cache, principal cache).
    pub auth: Arc<Auth>,
    /// Stored state and the services list from memory, while [`AppState::spawn_invalidation`]'s
    /// listener runs.
    pub hot: Arc<crate::cache::Hot>,
    /// Whether the server speaks TLS itself (adds HSTS to responses).
    pub tls: bool,
    /// SHA-256 fingerprint of the served certificate (as at start), when TLS is on.
    pub tls_fingerprint: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`SDMD_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<Vec<sdmd_model::net::Net>>,
    /// Registry client with the shared check cache.
    pub registry: Arc<crate::registry::Registry>,
    /// Health-gate settings of updates.
    pub gate: sdmd_model::updates::GateSettings,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The dashboard's static export, when one is served.
    pub ui_dir: Option<Arc<std::path::PathBuf>>,
    /// Seals stored secrets (registry passwords); `None` only if the system RNG failed.
    pub secrets: Option<Arc<crate::secrets::SecretBox>>,
    /// The WebAssembly plugin runtime of this replica.
    pub plugins: crate::runtime::PluginHost,
    /// Open notification batches of this replica.
    pub notifications: Arc<crate::runtime::Batches>,
    /// Project directories of services (`SDMD_STACKS_DIR`): `<stacks>/<service>/`.
    pub stacks_dir: Arc<std::path::PathBuf>,
    /// The data root of standard folders (`SDMD_APPDATA_DIR`): `<root>/<service>/`; `None` is the
    /// stacks directory. Read it through [`AppState::appdata_dir`].
    pub appdata_dir: Option<Arc<std::path::PathBuf>>,
    /// SDMD's global variables for interpolation, after each service's `.env` (`SDMD_VARIABLES`).
    pub variables: Arc<indexmap::IndexMap<String, String>>,
    /// Change the owner of bind sources through a short-lived helper container (only
    /// `CAP_CHOWN`) instead of in this process: by default exactly when sdmd does not run as
    /// root (`SDMD_CHOWN_HELPER=always|never|auto` overrides it). See the permissions module.
    pub chown_via_helper: bool,
    /// Resource samples and history (the observe module): configuration, the latest readings.
    pub observed: Arc<crate::observed::Observed>,
    /// Folder sizes of mounts, measured in the background (the sizes module).
    pub sizes: crate::sizes::Sizes,
    /// What no definition may do on this host (`SDMD_POLICY`); inactive by default.
    pub policy: Arc<crate::spec::policy::Policy>,
    /// How often a long-lived stream (events, followed logs) re-checks its credential (30 s;
    /// `SDMD_STREAM_RECHECK_MS` overrides it, for tests).
    pub stream_recheck: std::time::Duration,
}

impl AppState {
    /// The data root of standard folders: `SDMD_APPDATA_DIR`, else the stacks directory.
    pub fn appdata_dir(&self) -> &std::path::Path {
        self.appdata_dir.as_deref().unwrap_or(&self.stacks_dir)
    }

    /// State over a pool and a Docker handle, with fresh live state and bus.
    pub fn new(db: PgPool, docker: Docker) -> Self {
        Self {
            db,
            docker,
            live: Arc::new(Live::default()),
            bus: EventBus::default(),
            locks: ServiceLocks::default(),
            shutdown: CancellationToken::new(),
            auth: Auth::builtin(),
            hot: Arc::default(),
            tls: false,
            tls_fingerprint: None,
            trusted_proxies: Arc::new(Vec::new()),
            registry: Arc::new(crate::registry::Registry::new(
                std::time::Duration::from_secs(6 * 3600),
            )),
            gate: sdmd_model::updates::GateSettings::default(),
            metrics: Arc::new(crate::metrics::Metrics::default()),
            ui_dir: None,
            secrets: crate::secrets::SecretBox::random().ok().map(Arc::new),
            plugins: crate::runtime::PluginHost::default(),
            notifications: Arc::default(),
            stacks_dir: Arc::new(std::path::PathBuf::from("data/stacks")),
            appdata_dir: None,
            variables: Arc::default(),
            stream_recheck: std::time::Duration::from_secs(30),
            chown_via_helper: !running_as_root(),
            sizes: crate::sizes::Sizes::default(),
            observed: Arc::default(),
            policy: Arc::new(crate::spec::policy::Policy::default()),
        }
    }

    /// Starts the invalidation listener (`crate::invalidation`) until shutdown: it turns the
    /// principal cache and the stored-state cache on while it is connected.
    pub fn spawn_invalidation(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::invalidation::run(
            self.db.clone(),
            self.auth.clone(),
            self.hot.clone(),
            self.shutdown.clone(),
        ))
    }

    /// Whether PostgreSQL answers a query now (the health endpoint's readiness): the error's
    /// text when it does not.
    pub async fn database_reachable(&self) -> Result<(), String> {
        crate::db::ping(&self.db).await.map_err(|e| e.to_string())
    }

    /// The same state with another auth configuration.
    pub fn with_auth(mut self, auth: Arc<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// A builder over the two things every state needs; everything else starts at the defaults
    /// of [`AppState::new`] until set.
    pub fn builder(db: PgPool, docker: Docker) -> AppStateBuilder {
        AppStateBuilder(Self::new(db, docker))
    }
}

/// Builds an [`AppState`] from the server's configuration ([`AppState::builder`]).
pub struct AppStateBuilder(AppState);

impl AppStateBuilder {
    /// Authentication (mode, keys).
    pub fn auth(mut self, auth: Arc<Auth>) -> Self {
        self.0.auth = auth;
        self
    }

    /// The server speaks TLS itself with a certificate of this SHA-256 fingerprint.
    pub fn tls(mut self, fingerprint: String) -> Self {
        self.0.tls = true;
        self.0.tls_fingerprint = Some(fingerprint);
        self
    }

    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(mut self, nets: Vec<sdmd_model::net::Net>) -> Self {
        self.0.trusted_proxies = Arc::new(nets);
        self
    }

    /// The box that seals stored secrets.
    pub fn secrets(mut self, secrets: crate::secrets::SecretBox) -> Self {
        self.0.secrets = Some(Arc::new(secrets));
        self
    }

    /// Where compiled plugins are cached across restarts.
    pub fn plugin_cache_dir(self, dir: std::path::PathBuf) -> Self {
        self.0.plugins.set_cache_dir(dir);
        self
    }

    /// The project directories' root (absolute).
    pub fn stacks_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.0.stacks_dir = Arc::new(dir);
        self
    }

    /// The data root of standard folders (absolute); unset, the stacks directory.
    pub fn appdata_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.0.appdata_dir = Some(Arc::new(dir));
        self
    }

    /// What no definition may do on this host.
    pub fn policy(mut self, policy: crate::spec::policy::Policy) -> Self {
        self.0.policy = Arc::new(policy);
        self
    }

    /// SDMD's global interpolation variables.
    pub fn variables(mut self, vars: indexmap::IndexMap<String, String>) -> Self {
        self.0.variables = Arc::new(vars);
        self
    }

    /// The dashboard's static export to serve.
    pub fn ui_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.0.ui_dir = dir.map(Arc::new);
        self
    }

    /// Whether owners are changed through the helper container (see the permissions module).
    pub fn chown_via_helper(mut self, helper: bool) -> Self {
        self.0.chown_via_helper = helper;
        self
    }

    /// How the resource sampler runs.
    pub fn stats(mut self, config: crate::observed::StatsConfig) -> Self {
        self.0.observed = Arc::new(crate::observed::Observed::new(config));
        self
    }

    /// How often long-lived streams re-check their credential.
    pub fn stream_recheck(mut self, every: std::time::Duration) -> Self {
        self.0.stream_recheck = every;
        self
    }

    /// The state.
    pub fn build(self) -> AppState {
        self.0
    }
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Per-service async locks so that two operations never interleave on one service.
#[derive(Clone, Default)]
pub struct ServiceLocks {
    inner: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl ServiceLocks {
    /// Waits for and holds the lock of `service` until the guard drops.
    pub async fn lock(&self, service: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            // A poisoned map only means a panic elsewhere while inserting; the map is still usable.
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(service.to_owned()).or_default().clone()
        };
        m.lock_owned().await
    }

    /// Whether an operation (deploy, update, stop, …) holds the service's lock right now.
    pub fn is_busy(&self, service: &str) -> bool {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(service).is_some_and(|m| m.try_lock().is_err())
    }
}
