//! The WebAssembly plugin runtime. **Architecture Invariant:** this is the only module that imports
//! `wasmtime`; the rest of SDMD speaks [`types`], [`Manifest`] and [`PluginError`].
//!
//! Every call runs in a fresh `Store` instantiated from a cached `InstancePre`, as a future on the caller's
//! runtime (wasmtime's async support: the guest runs on its own fiber stack), with an epoch deadline (a
//! ticker thread advances the epoch every [`TICK`]; at each tick the guest yields to the runtime, and once
//! its ticks are used up it traps), a memory limiter, and a tokio timeout around it all (which also ends a
//! call waiting in an HTTP or registry import, as those are awaited). A worker thread is held by a computing
//! guest for at most one tick at a time. WASI is linked with nothing behind it: no preopens, no environment, no
//! stdin, no sockets; stdout/stderr land, size-capped, in the call's log. Only the `sdmd:plugin`
//! interfaces that the manifest declares **and** the admin granted are linked.
//!
//! Compiled components are cached per replica on disk under `<data dir>/plugin-cache`, keyed by
//! SHA-256(engine compatibility hash + wasm bytes), and in memory.

pub mod http;
pub mod manifest;
mod sandbox;
mod scope;
pub mod types;
mod v0_1;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

pub use http::{HostPattern, HttpGrant, HttpLimits};
pub use manifest::{Capability, Kind, Manifest, ManifestError, validate_config};
use sandbox::{CappedPipe, LogSink, MemoryLimiter};
pub use scope::in_scope;
use types::{LogLevel, LogLine};

/// WIT versions this host loads, oldest first.
pub const SUPPORTED_WIT: &[&str] = &[v0_1::VERSION];

/// Epoch ticker period: the granularity of deadlines.
pub const TICK: Duration = Duration::from_millis(10);

/// The largest component accepted (JS and Python components are 12–20 MB).
pub const MAX_WASM_BYTES: usize = 20 << 20;

/// Extra time the outer tokio timeout allows beyond the epoch deadline before giving up on a call.
const OUTER_GRACE: Duration = Duration::from_millis(500);

/// Per-plugin limits (admin settings; defaults from the issue).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Wall-clock budget of one call, enforced by epoch interruption.
    pub deadline_ms: u64,
    /// Linear memory of one call, all memories together.
    pub memory_bytes: usize,
    /// Captured log (log lines, stdout, stderr) per call.
    pub log_bytes: usize,
    /// Largest HTTP response body.
    pub http_max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline_ms: 1000,
            memory_bytes: 64 << 20,
            log_bytes: 64 << 10,
            http_max_body: 1 << 20,
        }
    }
}

/// Bytes of each pooled linear memory restored in place (kept resident) rather than released when a call
/// ends; see [`Runtime::new`]. Bounds the idle resident memory of the pool's warm slots.
const LINEAR_MEMORY_KEEP_RESIDENT: usize = 256 << 10;

/// Upper bounds an admin cannot exceed: the pooling allocator reserves memory slots of this size.
pub const MAX_MEMORY_BYTES: usize = 512 << 20;
/// Longest deadline an admin may set.
pub const MAX_DEADLINE_MS: u64 = 60_000;

/// What the admin granted a plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grants {
    /// Capabilities granted (log and config need no grant).
    pub capabilities: BTreeSet<Capability>,
    /// The `http` allow-list.
    pub http: HttpGrant,
}

/// Read-only registry access for strategies; implemented by the core (Docker/registry) side.
/// Called on the runtime's blocking pool during a plugin call (the import awaits it).
pub trait Registry: Send + Sync {
    /// Tags of a repository.
    fn list_tags(&self, repository: &str) -> Result<Vec<String>, String>;
    /// Digest of a reference.
    fn resolve_digest(&self, reference: &str) -> Result<String, String>;
}

/// Why a plugin could not be loaded or a call failed. Validation variants map to 422 in the API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    /// Not a component (a core module, or not WebAssembly at all).
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// Over [`MAX_WASM_BYTES`].
    #[error("the component is {0} bytes; the limit is {MAX_WASM_BYTES}")]
    TooLarge(usize),
    /// Manifest missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Built against a WIT version this host does not support.
    #[error("unsupported WIT version {found} (this host supports {})", SUPPORTED_WIT.join(", "))]
    UnsupportedWit {
        /// The version found.
        found: String,
    },
    /// Does not export a world it declares.
    #[error(
        "the component does not export the {kind} world (sdmd:plugin/{interface}@{version}); it exports: {exports}"
    )]
    WrongWorld {
        /// The declared kind.
        kind: Kind,
        /// The interface expected.
        interface: &'static str,
        /// The WIT version expected.
        version: String,
        /// What it exports.
        exports: String,
    },
    /// Imports something it may not have.
    #[error("the component imports {0}")]
    ForbiddenImport(String),
    /// Declared capabilities were not granted.
    #[error("plugin {plugin} needs {} which the admin has not granted", list(.missing))]
    NotGranted {
        /// Plugin id.
        plugin: String,
        /// Missing grants.
        missing: Vec<Capability>,
    },
    /// Invoked as a kind it is not.
    #[error("plugin {plugin} is not a {kind} plugin")]
    NotKind {
        /// Plugin id.
        plugin: String,
        /// Requested kind.
        kind: Kind,
    },
    /// Exceeded the epoch deadline.
    #[error("plugin {plugin} exceeded its deadline of {ms} ms and was stopped")]
    Deadline {
        /// Plugin id.
        plugin: String,
        /// The deadline.
        ms: u64,
    },
    /// The outer timeout fired (the guest was stuck in a host call).
    #[error("plugin {plugin} did not finish within {ms} ms")]
    Timeout {
        /// Plugin id.
        plugin: String,
        /// The timeout.
        ms: u64,
    },
    /// Exceeded the memory limit.
    #[error("plugin {plugin} exceeded its memory limit of {bytes} bytes and was stopped")]
    Memory {
        /// Plugin id.
        plugin: String,
        /// The limit.
        bytes: usize,
    },
    /// The guest panicked.
    #[error("plugin {plugin} panicked: {message}")]
    Panic {
        /// Plugin id.
        plugin: String,
        /// The panic message from its stderr.
        message: String,
    },
    /// Any other trap.
    #[error("plugin {plugin} crashed: {message}")]
    Trap {
        /// Plugin id.
        plugin: String,
        /// Trap description.
        message: String,
    },
    /// The plugin returned an error value.
    #[error("plugin {plugin} failed: {message}")]
    Failed {
        /// Plugin id.
        plugin: String,
        /// Its message.
        message: String,
    },
    /// A host-side failure (cache I/O, thread join).
    #[error("plugin runtime error: {0}")]
    Internal(String),
}

fn list(caps: &[Capability]) -> String {
    caps.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl PluginError {
    /// Whether the error is about the uploaded artefact (→ 422) rather than a call or the host.
    pub fn is_validation(&self) -> bool {
        matches!(
            self,
            PluginError::NotAComponent(_)
                | PluginError::TooLarge(_)
                | PluginError::Manifest(_)
                | PluginError::UnsupportedWit { .. }
                | PluginError::WrongWorld { .. }
                | PluginError::ForbiddenImport(_)
        )
    }
}

fn internal(what: &str) -> impl FnOnce(wasmtime::Error) -> PluginError + '_ {
    move |e| PluginError::Internal(format!("{what}: {e:#}"))
}

/// What validation found out about a component.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The manifest (embedded or sidecar).
    pub manifest: Manifest,
    /// The `sdmd:plugin` WIT version of its exports.
    pub wit: String,
    /// Its imports (interface names).
    pub imports: Vec<String>,
    /// Its exports (interface names).
    pub exports: Vec<String>,
    /// SHA-256 of the wasm bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
}

/// A plugin ready to call: validated, compiled, linked with its grants.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Loaded>,
}

struct Loaded {
    inspection: Inspection,
    prepared: v0_1::Prepared,
    config: Arc<serde_json::Map<String, serde_json::Value>>,
    grants: Grants,
    limits: Limits,
}

impl Plugin {
    /// Its manifest id.
    pub fn id(&self) -> &str {
        &self.inner.inspection.manifest.id
    }
    /// What validation found.
    pub fn inspection(&self) -> &Inspection {
        &self.inner.inspection
    }
    /// Its limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }
}

/// Capabilities declared but not granted (log and config are implicit).
pub fn missing_grants(manifest: &Manifest, grants: &Grants) -> Vec<Capability> {
    manifest
        .capabilities
        .iter()
        .copied()
        .filter(|c| !c.implicit() && !grants.capabilities.contains(c))
        .collect()
}

/// The result of one call, with the plugin's log and the time it took, also on failure.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The output or why there is none.
    pub result: Result<T, PluginError>,
    /// Log lines, stdout and stderr (capped).
    pub logs: Vec<LogLine>,
    /// Wall-clock duration including instantiation.
    pub duration: Duration,
}

/// Runtime settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled components are cached (`<data dir>/plugin-cache`); `None` = memory only.
    pub cache_dir: Option<PathBuf>,
    /// HTTP limits for the `http` capability (timeout, redirects); the body cap comes from [`Limits`].
    pub http: HttpLimits,
}

/// The store data of one call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    logs: LogSink,
    /// The plugin's settings, shared by all its calls (read-only).
    config: Arc<serde_json::Map<String, serde_json::Value>>,
    http: Option<(HttpGrant, HttpLimits)>,
    registry: Option<Arc<dyn Registry>>,
    /// The repository a strategy call may ask the registry about (the image it decides on).
    registry_scope: String,
    deadline: Instant,
    /// The async runtime the `http` capability blocks on; `None` outside one (then http fails cleanly).
    rt: Option<tokio::runtime::Handle>,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl CallState {
    async fn http_send(&mut self, req: http::Request) -> Result<http::Response, http::HttpError> {
        let Some((grant, limits)) = self.http.clone() else {
            return Err(http::HttpError::Denied(
                "the http capability is not granted".into(),
            ));
        };
        if self.rt.is_none() {
            return Err(http::HttpError::Transport(
                "no async runtime to send requests on".into(),
            ));
        }
        // The call runs as a future on the runtime: the request is awaited there, and the outer timeout
        // can end the call while it waits.
        http::send(&grant, limits, req).await
    }
}

/// Run a blocking capability (the [`Registry`] is synchronous) on the runtime's blocking pool, so the async
/// worker the call runs on is not blocked.
async fn run_blocking<R: Send + 'static>(
    rt: Option<tokio::runtime::Handle>,
    f: impl FnOnce() -> Result<R, String> + Send + 'static,
) -> Result<R, String> {
    let Some(rt) = rt else {
        return Err("no async runtime for registry requests".into());
    };
    rt.spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("registry task: {e}")))
}

/// The plugin runtime of one replica: engine, epoch ticker and compiled-component cache.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    config: RuntimeConfig,
    compat: [u8; 32],
    components: Mutex<HashMap<[u8; 32], Component>>,
    registry: Mutex<Option<Arc<dyn Registry>>>,
}

/// Feeds `Hash` output into SHA-256 so the engine's compatibility hash can key the cache.
struct ShaHasher(Sha256);

impl std::hash::Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0 // unused: we read the SHA-256 state instead
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl Runtime {
    /// Build the engine (epoch interruption, pooling allocator) and start the epoch ticker thread, which
    /// stops by itself when the runtime is dropped.
    pub fn new(config: RuntimeConfig) -> Result<Self, PluginError> {
        let mut cfg = Config::new();
        cfg.epoch_interruption(true);
        cfg.wasm_component_model(true);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(1000)
            .total_core_instances(2000)
            .total_memories(1000)
            .total_tables(2000)
            .max_memory_size(MAX_MEMORY_BYTES)
            .max_memories_per_component(16)
            .max_tables_per_component(16)
            .max_core_instances_per_component(64)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(4 << 20)
            .table_elements(1 << 20)
            // When a call ends, its linear memory is reset for the next instance. With PAGEMAP_SCAN
            // (Linux >= 6.7) wasmtime finds the pages the guest actually wrote and restores just those,
            // up to this many bytes, instead of `madvise`-ing the memory away and taking a page fault on
            // every page the next call touches (a Rust guest writes ~10-20 scattered pages: stack top,
            // data, heap). Instantiate+call of the semver strategy went from ~41 to ~29 µs with it.
            // Without the ioctl (older kernels: `Auto` falls back), the first this-many bytes are reset
            // with memset and the rest with madvise, as before.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(internal("creating the wasm engine"))?;
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let compat: [u8; 32] = hasher.0.finalize().into();
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("sdmd-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| PluginError::Internal(format!("starting the epoch ticker: {e}")))?;
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| PluginError::Internal(format!("creating {}: {e}", dir.display())))?;
        }
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                config,
                compat,
                components: Mutex::default(),
                registry: Mutex::default(),
            }),
        })
    }

    /// Give strategies with the `registry` grant access to registries.
    pub fn set_registry(&self, registry: Arc<dyn Registry>) {
        *self
            .inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(registry);
    }

    /// Validate a component: size, component-ness, manifest (sidecar overrides embedded), exported
    /// worlds at a supported WIT version, imports within the declared capabilities. Compiles it (cached).
    pub async fn inspect(
        &self,
        wasm: Arc<[u8]>,
        sidecar: Option<Manifest>,
    ) -> Result<Inspection, PluginError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.inspect_blocking(&wasm, sidecar).map(|(i, _)| i))
            .await
            .map_err(|e| PluginError::Internal(format!("inspect task: {e}")))?
    }

    fn inspect_blocking(
        &self,
        wasm: &[u8],
        sidecar: Option<Manifest>,
    ) -> Result<(Inspection, Component), PluginError> {
        if wasm.len() > MAX_WASM_BYTES {
            return Err(PluginError::TooLarge(wasm.len()));
        }
        match wasm.get(..8) {
            Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => {}
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
                return Err(PluginError::NotAComponent(
                    "this is a core WebAssembly module; build for wasm32-wasip2 (or run `wasm-tools component new`)".into(),
                ));
            }
            _ => {
                return Err(PluginError::NotAComponent(
                    "the file does not start with the WebAssembly header".into(),
                ));
            }
        }
        let manifest = match sidecar {
            Some(m) => m,
            None => Manifest::from_json(manifest::embedded(wasm).ok_or(ManifestError::Missing)?)?,
        };
        if !SUPPORTED_WIT.contains(&manifest.wit.as_str()) {
            return Err(PluginError::UnsupportedWit {
                found: manifest.wit.clone(),
            });
        }
        let sha: [u8; 32] = Sha256::digest(wasm).into();
        let component = self.compile(wasm)?;
        let engine = &self.inner.engine;
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
        let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
        for kind in &manifest.kinds {
            let want = format!("sdmd:plugin/{}@{}", kind.export_interface(), manifest.wit);
            if !exports.contains(&want) {
                // Say "unsupported version" when it exports the interface at another version.
                let prefix = format!("sdmd:plugin/{}@", kind.export_interface());
                if let Some(other) = exports.iter().find_map(|e| e.strip_prefix(&prefix)) {
                    return Err(PluginError::UnsupportedWit {
                        found: other.to_string(),
                    });
                }
                return Err(PluginError::WrongWorld {
                    kind: *kind,
                    interface: kind.export_interface(),
                    version: manifest.wit.clone(),
                    exports: if exports.is_empty() {
                        "nothing".into()
                    } else {
                        exports.join(", ")
                    },
                });
            }
        }
        for import in &imports {
            check_import(&manifest, import)?;
        }
        Ok((
            Inspection {
                wit: manifest.wit.clone(),
                manifest,
                imports,
                exports,
                sha256: hex::encode(sha),
                size: wasm.len(),
            },
            component,
        ))
    }

    /// Compile (or load the cached artefact of) a component.
    fn compile(&self, wasm: &[u8]) -> Result<Component, PluginError> {
        let mut h = Sha256::new();
        h.update(self.inner.compat);
        h.update(wasm);
        let key: [u8; 32] = h.finalize().into();
        if let Some(c) = self
            .inner
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(c.clone());
        }
        let engine = &self.inner.engine;
        let component = match &self.inner.config.cache_dir {
            None => Component::new(engine, wasm)
                .map_err(|e| PluginError::NotAComponent(format!("{e:#}")))?,
            Some(dir) => {
                let path = dir.join(format!("{}.cwasm", hex::encode(key)));
                match load_cached(engine, &path) {
                    Some(c) => c,
                    None => {
                        let bytes = engine
                            .precompile_component(wasm)
                            .map_err(|e| PluginError::NotAComponent(format!("{e:#}")))?;
                        // Write then rename, so a concurrent reader never sees half a file.
                        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                        std::fs::write(&tmp, &bytes)
                            .and_then(|()| std::fs::rename(&tmp, &path))
                            .map_err(|e| {
                                PluginError::Internal(format!("writing {}: {e}", path.display()))
                            })?;
                        load_cached(engine, &path).ok_or_else(|| {
                            PluginError::Internal(format!("cannot load {}", path.display()))
                        })?
                    }
                }
            }
        };
        self.inner
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, component.clone());
        Ok(component)
    }

    /// Validate, compile and link a plugin with its grants, config and limits. Fails with
    /// [`PluginError::NotGranted`] when a declared capability is not granted (such a plugin cannot be
    /// enabled), and with a manifest error when the config does not match the schema.
    pub async fn load(
        &self,
        wasm: Arc<[u8]>,
        sidecar: Option<Manifest>,
        grants: Grants,
        config: serde_json::Value,
        limits: Limits,
    ) -> Result<Plugin, PluginError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            this.load_blocking(&wasm, sidecar, grants, config, limits)
        })
        .await
        .map_err(|e| PluginError::Internal(format!("load task: {e}")))?
    }

    fn load_blocking(
        &self,
        wasm: &[u8],
        sidecar: Option<Manifest>,
        grants: Grants,
        config: serde_json::Value,
        limits: Limits,
    ) -> Result<Plugin, PluginError> {
        let (inspection, component) = self.inspect_blocking(wasm, sidecar)?;
        let manifest = &inspection.manifest;
        let missing = missing_grants(manifest, &grants);
        if !missing.is_empty() {
            return Err(PluginError::NotGranted {
                plugin: manifest.id.clone(),
                missing,
            });
        }
        validate_config(manifest.config_schema.as_ref(), &config)?;
        let linked: Vec<Capability> = manifest.capabilities.iter().copied().collect();
        let linker = v0_1::linker(&self.inner.engine, &linked).map_err(internal("linking"))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            PluginError::ForbiddenImport(format!("something this host does not provide: {e:#}"))
        })?;
        let kinds: Vec<Kind> = manifest.kinds.iter().copied().collect();
        let prepared = v0_1::Prepared::new(&pre, &kinds).map_err(internal("resolving exports"))?;
        let limits = Limits {
            deadline_ms: limits.deadline_ms.clamp(1, MAX_DEADLINE_MS),
            memory_bytes: limits.memory_bytes.min(MAX_MEMORY_BYTES),
            ..limits
        };
        let config = Arc::new(match config {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        });
        Ok(Plugin {
            inner: Arc::new(Loaded {
                inspection,
                prepared,
                config,
                grants,
                limits,
            }),
        })
    }

    /// Run an update strategy.
    pub async fn decide(
        &self,
        plugin: &Plugin,
        input: types::StrategyInput,
    ) -> Outcome<types::Decision> {
        let mut call = self.begin(plugin, Some(tokio::runtime::Handle::current()));
        let prepared = &plugin.inner.prepared;
        let result = bounded(plugin, prepared.decide(&mut call.store, &input)).await;
        finish(call, plugin, Kind::UpdateStrategy, result)
    }

    /// Run a health check.
    pub async fn check_health(
        &self,
        plugin: &Plugin,
        input: types::HealthInput,
    ) -> Outcome<types::Health> {
        let mut call = self.begin(plugin, Some(tokio::runtime::Handle::current()));
        let prepared = &plugin.inner.prepared;
        let result = bounded(plugin, prepared.check(&mut call.store, &input)).await;
        finish(call, plugin, Kind::HealthCheck, result)
    }

    /// Deliver an event to a notifier.
    pub async fn notify(&self, plugin: &Plugin, event: types::Event) -> Outcome<()> {
        let mut call = self.begin(plugin, Some(tokio::runtime::Handle::current()));
        let prepared = &plugin.inner.prepared;
        let result = bounded(plugin, prepared.deliver(&mut call.store, &event)).await;
        finish(call, plugin, Kind::Notifier, result)
    }
    /// Run a plugin on JSON input (the invoke API and `sdmd plugin test`): the input's shape follows the
    /// plugin's first kind; the output is the result as JSON.
    pub async fn invoke_json(
        &self,
        plugin: &Plugin,
        input: serde_json::Value,
    ) -> Outcome<serde_json::Value> {
        fn json<T: Serialize>(o: Outcome<T>) -> Outcome<serde_json::Value> {
            Outcome {
                result: o.result.and_then(|v| {
                    serde_json::to_value(v)
                        .map_err(|e| PluginError::Internal(format!("encoding output: {e}")))
                }),
                logs: o.logs,
                duration: o.duration,
            }
        }
        let bad = |e: serde_json::Error| Outcome {
            result: Err(PluginError::Manifest(ManifestError::Invalid(format!(
                "sample input: {e}"
            )))),
            logs: Vec::new(),
            duration: Duration::ZERO,
        };
        let kind = plugin
            .inner
            .inspection
            .manifest
            .kinds
            .iter()
            .next()
            .copied();
        match kind {
            Some(Kind::UpdateStrategy) => match serde_json::from_value(input) {
                Ok(i) => json(self.decide(plugin, i).await),
                Err(e) => bad(e),
            },
            Some(Kind::HealthCheck) => match serde_json::from_value(input) {
                Ok(i) => json(self.check_health(plugin, i).await),
                Err(e) => bad(e),
            },
            Some(Kind::Notifier) => match serde_json::from_value(input) {
                Ok(i) => json(self.notify(plugin, i).await),
                Err(e) => bad(e),
            },
            None => Outcome {
                result: Err(PluginError::Internal("plugin has no kind".into())),
                logs: Vec::new(),
                duration: Duration::ZERO,
            },
        }
    }

    /// Run a strategy to completion on the current thread, for benchmarks and callers that already are on a
    /// blocking thread and bound the call themselves. The epoch deadline and memory limit apply, but there
    /// is no outer timeout: server code uses [`Runtime::decide`] (the invariant "deadline, memory limit and
    /// outer timeout on every call" is kept there). Never call it on an async worker thread.
    pub fn decide_blocking(
        &self,
        plugin: &Plugin,
        input: &types::StrategyInput,
    ) -> Outcome<types::Decision> {
        let mut call = self.begin(plugin, tokio::runtime::Handle::try_current().ok());
        let prepared = &plugin.inner.prepared;
        let result = wasmtime_wasi::runtime::in_tokio(prepared.decide(&mut call.store, input));
        finish(call, plugin, Kind::UpdateStrategy, Ok(result))
    }

    /// [`Runtime::check_health`] on the current thread (see [`Runtime::decide_blocking`]).
    pub fn check_health_blocking(
        &self,
        plugin: &Plugin,
        input: &types::HealthInput,
    ) -> Outcome<types::Health> {
        let mut call = self.begin(plugin, tokio::runtime::Handle::try_current().ok());
        let prepared = &plugin.inner.prepared;
        let result = wasmtime_wasi::runtime::in_tokio(prepared.check(&mut call.store, input));
        finish(call, plugin, Kind::HealthCheck, Ok(result))
    }

    /// [`Runtime::notify`] on the current thread (see [`Runtime::decide_blocking`]).
    pub fn notify_blocking(&self, plugin: &Plugin, event: &types::Event) -> Outcome<()> {
        let mut call = self.begin(plugin, tokio::runtime::Handle::try_current().ok());
        let prepared = &plugin.inner.prepared;
        let result = wasmtime_wasi::runtime::in_tokio(prepared.deliver(&mut call.store, event));
        finish(call, plugin, Kind::Notifier, Ok(result))
    }

    /// Benchmark hook: instantiate once, then call the plugin's first kind `n` times on that instance
    /// with `input` (JSON as for [`Runtime::invoke_json`]), returning each call's duration. Production
    /// code never reuses an instance (a trap leaves it poisoned); this exists to measure call cost alone.
    #[doc(hidden)]
    pub fn bench_call_only(
        &self,
        plugin: &Plugin,
        input: &serde_json::Value,
        n: usize,
    ) -> Result<Vec<Duration>, PluginError> {
        let kind = plugin
            .inner
            .inspection
            .manifest
            .kinds
            .iter()
            .next()
            .copied()
            .unwrap_or(Kind::Notifier);
        let mut call = self.begin(plugin, tokio::runtime::Handle::try_current().ok());
        // The deadline covers all n calls here: make it generous.
        call.store.set_epoch_deadline(u64::MAX / 2);
        let prepared = &plugin.inner.prepared;
        let result =
            wasmtime_wasi::runtime::in_tokio(prepared.repeat(&mut call.store, kind, input, n));
        finish(call, plugin, kind, Ok(Some(result))).result
    }

    /// A fresh store for one call of `plugin`: an empty WASI context, the memory limiter, and the epoch
    /// deadline armed for this call.
    fn begin(&self, plugin: &Plugin, rt: Option<tokio::runtime::Handle>) -> Call {
        let started = Instant::now();
        let loaded = &plugin.inner;
        let limits = loaded.limits;
        let stdout = CappedPipe::new(limits.log_bytes);
        let stderr = CappedPipe::new(limits.log_bytes);
        // No preopens, env, args or stdin; sockets refused explicitly (Python guests import them).
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let http = loaded
            .grants
            .capabilities
            .contains(&Capability::Http)
            .then(|| {
                (
                    loaded.grants.http.clone(),
                    HttpLimits {
                        max_body: limits.http_max_body,
                        ..self.inner.config.http
                    },
                )
            });
        let registry = if loaded.grants.capabilities.contains(&Capability::Registry) {
            self.inner
                .registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        } else {
            None
        };
        let deadline = Duration::from_millis(limits.deadline_ms);
        let state = CallState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            logs: LogSink::new(limits.log_bytes),
            config: Arc::clone(&loaded.config),
            http,
            registry,
            registry_scope: String::new(),
            deadline: started + deadline,
            rt,
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Every tick the guest yields to the runtime (so other tasks, and the outer timeout, get to run
        // while a long call computes); once the call's ticks are used up it traps with `Interrupt`.
        let mut ticks = deadline.as_millis().div_ceil(TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            ticks = ticks.saturating_sub(1);
            if ticks == 0 {
                Err(wasmtime::Error::new(Trap::Interrupt))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Call {
            store,
            stdout,
            stderr,
            started,
        }
    }
}

/// One call's store, and the pipes its stdout and stderr write to.
struct Call {
    store: Store<CallState>,
    stdout: CappedPipe,
    stderr: CappedPipe,
    started: Instant,
}

/// What a call returned: `None` when the plugin is not of the kind called, `Err` when the outer timeout
/// ended it (with the timeout in ms).
type Returned<T> = Result<Option<wasmtime::Result<Result<T, String>>>, u64>;

/// The outer timeout around a call: the epoch deadline plus [`OUTER_GRACE`]. It ends a call stuck in a
/// host import (an HTTP request, a registry lookup, a WASI wait) as well, since those are awaited.
async fn bounded<T>(
    plugin: &Plugin,
    call: impl Future<Output = Option<wasmtime::Result<Result<T, String>>>>,
) -> Returned<T> {
    let outer = Duration::from_millis(plugin.inner.limits.deadline_ms) + OUTER_GRACE;
    tokio::time::timeout(outer, call)
        .await
        .map_err(|_| outer.as_millis() as u64)
}

/// The outcome of a call from what it returned and what it logged.
fn finish<T>(call: Call, plugin: &Plugin, kind: Kind, returned: Returned<T>) -> Outcome<T> {
    let id = plugin.id().to_string();
    let limits = plugin.inner.limits;
    let result = match returned {
        Ok(result) => result,
        // The guest was dropped where it waited; its store goes with it.
        Err(ms) => {
            return Outcome {
                result: Err(PluginError::Timeout { plugin: id, ms }),
                logs: Vec::new(),
                duration: call.started.elapsed(),
            };
        }
    };
    let state = call.store.into_data();
    let mut logs = state.logs;
    let err = call.stderr.contents();
    logs.push_stream(LogLevel::Stdout, call.stdout.contents());
    logs.push_stream(LogLevel::Stderr, (err.0.clone(), err.1));
    let err_bytes = err.0;
    let result = match result {
        None => Err(PluginError::NotKind {
            plugin: id.clone(),
            kind,
        }),
        Some(Ok(Ok(v))) => Ok(v),
        Some(Ok(Err(message))) => Err(PluginError::Failed {
            plugin: id.clone(),
            message,
        }),
        Some(Err(e)) => Err(classify(&id, &e, state.limiter.hit, &limits, &err_bytes)),
    };
    Outcome {
        result,
        logs: logs.finish(),
        duration: call.started.elapsed(),
    }
}

fn classify(
    id: &str,
    e: &wasmtime::Error,
    memory_hit: bool,
    limits: &Limits,
    stderr: &[u8],
) -> PluginError {
    let plugin = id.to_string();
    if memory_hit {
        return PluginError::Memory {
            plugin,
            bytes: limits.memory_bytes,
        };
    }
    if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return PluginError::Deadline {
            plugin,
            ms: limits.deadline_ms,
        };
    }
    // Rust guests print "panicked at <file>:<line>:<col>:\n<message>" to stderr and then trap.
    let text = String::from_utf8_lossy(stderr);
    if let Some(pos) = text.find("panicked at") {
        let message: Vec<&str> = text[pos..].lines().take(2).collect();
        return PluginError::Panic {
            plugin,
            message: message.join(" "),
        };
    }
    PluginError::Trap {
        plugin,
        message: format!("{e:#}"),
    }
}

fn check_import(manifest: &Manifest, import: &str) -> Result<(), PluginError> {
    if import.starts_with("wasi:") {
        // Linked from WASI p2 with an empty context; anything we do not provide (wasi:http, ...) fails at
        // link time with a precise message.
        return Ok(());
    }
    let Some(rest) = import.strip_prefix("sdmd:plugin/") else {
        return Err(PluginError::ForbiddenImport(format!(
            "{import}, which this host does not provide"
        )));
    };
    let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
    if version != manifest.wit {
        return Err(PluginError::UnsupportedWit {
            found: version.to_string(),
        });
    }
    if iface == "types" {
        return Ok(());
    }
    let cap = Capability::from_interface(iface).ok_or_else(|| {
        PluginError::ForbiddenImport(format!("{import}, which this host does not provide"))
    })?;
    if !manifest.capabilities.contains(&cap) {
        return Err(PluginError::ForbiddenImport(format!(
            "{import}, but its manifest does not declare the {cap} capability"
        )));
    }
    Ok(())
}

#[allow(unsafe_code)]
fn load_cached(engine: &Engine, path: &std::path::Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: `deserialize_file` trusts the file to be a wasmtime artefact. We only load files in our
    // own cache directory that this function's caller wrote with `precompile_component`, named by the hash
    // of the engine's compatibility hash and the source bytes; wasmtime additionally checks the header
    // and engine settings and refuses mismatches.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}
