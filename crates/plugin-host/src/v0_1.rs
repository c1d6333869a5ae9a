//! Bindings for `sdmd:plugin@0.1.0` (frozen: `wit/0.1.0`). This module links the host interfaces of 0.1,
//! converts between the generated types and [`super::types`], and calls the exported functions. A later WIT
//! version gets its own module beside this one; plugins built for 0.1 keep loading through this one.

use super::types as t;
use super::{CallState, Capability, Kind};
use wasmtime::component::{
    ComponentExportIndex, ComponentType, HasSelf, InstancePre, Linker, Lower, TypedFunc,
};
use wasmtime::{Engine, Store};

/// The WIT version this module implements.
pub const VERSION: &str = "0.1.0";

#[allow(missing_docs, clippy::all)] // generated
mod host_api {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "host-api",
        // The two imports that wait on the network are async, so a call waiting on them yields to the
        // runtime (and the outer timeout can end it there); the others never block.
        imports: {
            "sdmd:plugin/http": async,
            "sdmd:plugin/registry": async,
        },
    });
}

#[allow(missing_docs, clippy::all)] // generated
mod strategy_world {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "update-strategy",
        exports: { default: async },
        with: {
            "sdmd:plugin/types": super::host_api::sdmd::plugin::types,
            "sdmd:plugin/log": super::host_api::sdmd::plugin::log,
            "sdmd:plugin/config": super::host_api::sdmd::plugin::config,
            "sdmd:plugin/registry": super::host_api::sdmd::plugin::registry,
        },
    });
}

#[allow(missing_docs, clippy::all)] // generated
mod health_world {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "health-check",
        exports: { default: async },
        with: {
            "sdmd:plugin/types": super::host_api::sdmd::plugin::types,
            "sdmd:plugin/log": super::host_api::sdmd::plugin::log,
            "sdmd:plugin/config": super::host_api::sdmd::plugin::config,
            "sdmd:plugin/http": super::host_api::sdmd::plugin::http,
        },
    });
}

#[allow(missing_docs, clippy::all)] // generated
mod notifier_world {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "notifier",
        exports: { default: async },
        with: {
            "sdmd:plugin/types": super::host_api::sdmd::plugin::types,
            "sdmd:plugin/log": super::host_api::sdmd::plugin::log,
            "sdmd:plugin/config": super::host_api::sdmd::plugin::config,
            "sdmd:plugin/http": super::host_api::sdmd::plugin::http,
        },
    });
}

use host_api::sdmd::plugin::{config, http, log, registry, types as w};

/// Add WASI (sandboxed by the per-call `WasiCtx`) and exactly the `sdmd:plugin` interfaces in `linked`.
pub fn linker(engine: &Engine, linked: &[Capability]) -> wasmtime::Result<Linker<CallState>> {
    let mut l = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut l)?;
    w::add_to_linker::<CallState, HasSelf<CallState>>(&mut l, |s| s)?;
    for cap in linked {
        match cap {
            Capability::Log => log::add_to_linker::<CallState, HasSelf<CallState>>(&mut l, |s| s)?,
            Capability::Config => {
                config::add_to_linker::<CallState, HasSelf<CallState>>(&mut l, |s| s)?
            }
            Capability::Registry => {
                registry::add_to_linker::<CallState, HasSelf<CallState>>(&mut l, |s| s)?
            }
            Capability::Http => {
                http::add_to_linker::<CallState, HasSelf<CallState>>(&mut l, |s| s)?
            }
        }
    }
    Ok(l)
}

/// Export handles resolved once per loaded plugin, so a call only instantiates and calls.
pub struct Prepared {
    strategy: Option<Strategy>,
    health: Option<health_world::HealthCheckPre<CallState>>,
    notifier: Option<notifier_world::NotifierPre<CallState>>,
}

impl Prepared {
    /// Resolve the exports of the declared kinds.
    pub fn new(pre: &InstancePre<CallState>, kinds: &[Kind]) -> wasmtime::Result<Self> {
        let mut p = Prepared {
            strategy: None,
            health: None,
            notifier: None,
        };
        for kind in kinds {
            match kind {
                Kind::UpdateStrategy => p.strategy = Some(Strategy::new(pre)?),
                Kind::HealthCheck => {
                    p.health = Some(health_world::HealthCheckPre::new(pre.clone())?)
                }
                Kind::Notifier => p.notifier = Some(notifier_world::NotifierPre::new(pre.clone())?),
            }
        }
        Ok(p)
    }

    /// Instantiate and call `strategy.decide`. `None` when the plugin is not a strategy.
    pub async fn decide(
        &self,
        store: &mut Store<CallState>,
        input: &t::StrategyInput,
    ) -> Option<wasmtime::Result<Result<t::Decision, String>>> {
        let strategy = self.strategy.as_ref()?;
        store.data_mut().registry_scope = input.current.repository.clone();
        Some(
            async {
                let input = StrategyInputRef::new(input);
                let decide = strategy.instantiate(store).await?;
                let (out,) = decide.call_async(&mut *store, (&input,)).await?;
                Ok(out.map(decision))
            }
            .await,
        )
    }

    /// Instantiate and call `checker.check`.
    pub async fn check(
        &self,
        store: &mut Store<CallState>,
        input: &t::HealthInput,
    ) -> Option<wasmtime::Result<Result<t::Health, String>>> {
        let pre = self.health.as_ref()?;
        Some(
            async {
                let inst = pre.instantiate_async(&mut *store).await?;
                let out = inst
                    .sdmd_plugin_checker()
                    .call_check(&mut *store, &health_input(input))
                    .await?;
                Ok(out.map(|h| match h {
                    w::Health::Healthy => t::Health::Healthy,
                    w::Health::Unhealthy(reason) => t::Health::Unhealthy { reason },
                    w::Health::RetryAfter(ms) => t::Health::RetryAfter { ms },
                }))
            }
            .await,
        )
    }

    /// Instantiate and call `notify.deliver`.
    pub async fn deliver(
        &self,
        store: &mut Store<CallState>,
        event: &t::Event,
    ) -> Option<wasmtime::Result<Result<(), String>>> {
        let pre = self.notifier.as_ref()?;
        Some(
            async {
                let inst = pre.instantiate_async(&mut *store).await?;
                inst.sdmd_plugin_notify()
                    .call_deliver(&mut *store, &event_to_wit(event))
                    .await
            }
            .await,
        )
    }
}

impl Prepared {
    /// Instantiate once and call `n` times (benchmarks only); returns each call's duration.
    pub async fn repeat(
        &self,
        store: &mut Store<CallState>,
        kind: Kind,
        input: &serde_json::Value,
        n: usize,
    ) -> wasmtime::Result<Result<Vec<std::time::Duration>, String>> {
        let bad = |e: serde_json::Error| wasmtime::Error::msg(format!("bench input: {e}"));
        let mut out = Vec::with_capacity(n);
        macro_rules! time_calls {
            ($call:expr) => {
                for _ in 0..n {
                    let t0 = std::time::Instant::now();
                    if let Err(e) = $call.await? {
                        return Ok(Err(e));
                    }
                    out.push(t0.elapsed());
                }
            };
        }
        match kind {
            Kind::UpdateStrategy => {
                let strategy = self
                    .strategy
                    .as_ref()
                    .ok_or_else(|| wasmtime::Error::msg("not a strategy"))?;
                let input: t::StrategyInput = serde_json::from_value(input.clone()).map_err(bad)?;
                store.data_mut().registry_scope = input.current.repository.clone();
                let input = StrategyInputRef::new(&input);
                let decide = strategy.instantiate(store).await?;
                time_calls!(async {
                    decide
                        .call_async(&mut *store, (&input,))
                        .await
                        .map(|(r,)| r.map(drop))
                });
            }
            Kind::HealthCheck => {
                let pre = self
                    .health
                    .as_ref()
                    .ok_or_else(|| wasmtime::Error::msg("not a health check"))?;
                let input = health_input(&serde_json::from_value(input.clone()).map_err(bad)?);
                let inst = pre.instantiate_async(&mut *store).await?;
                time_calls!(async {
                    inst.sdmd_plugin_checker()
                        .call_check(&mut *store, &input)
                        .await
                        .map(|r| r.map(drop))
                });
            }
            Kind::Notifier => {
                let pre = self
                    .notifier
                    .as_ref()
                    .ok_or_else(|| wasmtime::Error::msg("not a notifier"))?;
                let event = event_to_wit(&serde_json::from_value(input.clone()).map_err(bad)?);
                let inst = pre.instantiate_async(&mut *store).await?;
                time_calls!(inst.sdmd_plugin_notify().call_deliver(&mut *store, &event));
            }
        }
        Ok(Ok(out))
    }
}

/// `strategy.decide` with its input lowered straight from the host's [`t::StrategyInput`]: the candidate
/// list (100s of tags) is borrowed, not copied into the generated owned types first.
type DecideFn<'a> = TypedFunc<(&'a StrategyInputRef<'a>,), (Result<w::Decision, String>,)>;

/// The `update-strategy` export, resolved once per loaded plugin.
struct Strategy {
    /// Validates at load time that the component exports the world (the generated bindings' check).
    _world: strategy_world::UpdateStrategyPre<CallState>,
    pre: InstancePre<CallState>,
    decide: ComponentExportIndex,
}

impl Strategy {
    fn new(pre: &InstancePre<CallState>) -> wasmtime::Result<Self> {
        let world = strategy_world::UpdateStrategyPre::new(pre.clone())?;
        let name = format!("sdmd:plugin/strategy@{VERSION}");
        let component = pre.component();
        let decide = component
            .get_export_index(None, &name)
            .and_then(|i| component.get_export_index(Some(&i), "decide"))
            .ok_or_else(|| wasmtime::format_err!("no export `decide` in `{name}`"))?;
        Ok(Strategy {
            _world: world,
            pre: pre.clone(),
            decide,
        })
    }

    /// A fresh instance in `store` and its typechecked `decide`.
    async fn instantiate<'a>(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<DecideFn<'a>> {
        let instance = self.pre.instantiate_async(&mut *store).await?;
        instance.get_typed_func(&mut *store, self.decide)
    }
}

fn decision(d: w::Decision) -> t::Decision {
    match d {
        w::Decision::Skip(reason) => t::Decision::Skip { reason },
        w::Decision::UpdateTo(c) => t::Decision::UpdateTo {
            candidate: t::Candidate {
                tag: c.tag,
                digest: c.digest,
            },
        },
    }
}

/// `types.pair`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
struct PairRef<'a> {
    key: &'a str,
    value: &'a str,
}

/// `types.service`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
struct ServiceRef<'a> {
    name: &'a str,
    revision: u64,
    labels: Vec<PairRef<'a>>,
}

/// `types.image`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
struct ImageRef<'a> {
    reference: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// `types.candidate`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
struct CandidateRef<'a> {
    tag: &'a str,
    digest: Option<&'a str>,
}

/// `types.strategy-input`, borrowed from a [`t::StrategyInput`].
#[derive(ComponentType, Lower)]
#[component(record)]
struct StrategyInputRef<'a> {
    service: ServiceRef<'a>,
    member: &'a str,
    current: ImageRef<'a>,
    candidates: Vec<CandidateRef<'a>>,
}

impl<'a> StrategyInputRef<'a> {
    fn new(i: &'a t::StrategyInput) -> Self {
        StrategyInputRef {
            service: ServiceRef {
                name: &i.service.name,
                revision: i.service.revision,
                labels: i
                    .service
                    .labels
                    .iter()
                    .map(|(key, value)| PairRef { key, value })
                    .collect(),
            },
            member: &i.member,
            current: ImageRef {
                reference: &i.current.reference,
                repository: &i.current.repository,
                tag: i.current.tag.as_deref(),
                digest: i.current.digest.as_deref(),
            },
            candidates: i
                .candidates
                .iter()
                .map(|c| CandidateRef {
                    tag: &c.tag,
                    digest: c.digest.as_deref(),
                })
                .collect(),
        }
    }
}

fn service(s: &t::Service) -> w::Service {
    w::Service {
        name: s.name.clone(),
        revision: s.revision,
        labels: s
            .labels
            .iter()
            .map(|(k, v)| w::Pair {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    }
}

fn health_input(i: &t::HealthInput) -> w::HealthInput {
    w::HealthInput {
        service: service(&i.service),
        containers: i
            .containers
            .iter()
            .map(|c| w::Container {
                name: c.name.clone(),
                member: c.member.clone(),
                image: c.image.clone(),
                state: c.state.clone(),
                health: c.health.clone(),
                restart_count: c.restart_count,
                ports: c
                    .ports
                    .iter()
                    .map(|p| w::Port {
                        host_ip: p.host_ip.clone(),
                        host_port: p.host_port,
                        container_port: p.container_port,
                        protocol: p.protocol.clone(),
                    })
                    .collect(),
            })
            .collect(),
        attempt: i.attempt,
    }
}

fn event_to_wit(e: &t::Event) -> w::Event {
    w::Event {
        kind: match e.kind {
            t::EventKind::UpdateAvailable => w::EventKind::UpdateAvailable,
            t::EventKind::Updated => w::EventKind::Updated,
            t::EventKind::RolledBack => w::EventKind::RolledBack,
            t::EventKind::Failed => w::EventKind::Failed,
            t::EventKind::ContainerDied => w::EventKind::ContainerDied,
        },
        service: service(&e.service),
        summary: e.summary.clone(),
        from_image: e.from_image.clone(),
        to_image: e.to_image.clone(),
        detail: e.detail.clone(),
        timestamp: e.timestamp.clone(),
    }
}

impl w::Host for CallState {}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => t::LogLevel::Trace,
            log::Level::Debug => t::LogLevel::Debug,
            log::Level::Info => t::LogLevel::Info,
            log::Level::Warn => t::LogLevel::Warn,
            log::Level::Error => t::LogLevel::Error,
        };
        self.logs.push(level, &message);
    }
}

impl config::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.config.get(&key).map(|v| v.to_string())
    }
    fn all(&mut self) -> String {
        // Serialising a map of JSON values cannot fail.
        serde_json::to_string(&*self.config).unwrap_or_else(|_| "{}".into())
    }
}

impl registry::Host for CallState {
    async fn list_tags(&mut self, repository: String) -> Result<Vec<String>, String> {
        if !super::in_scope(&self.registry_scope, &repository) {
            return Err(format!(
                "denied: only {} may be queried in this call",
                self.registry_scope
            ));
        }
        match &self.registry {
            Some(r) => {
                let r = std::sync::Arc::clone(r);
                super::run_blocking(self.rt.clone(), move || r.list_tags(&repository)).await
            }
            None => Err("no registry access is configured on this host".into()),
        }
    }
    async fn resolve_digest(&mut self, reference: String) -> Result<String, String> {
        if !super::in_scope(&self.registry_scope, &reference) {
            return Err(format!(
                "denied: only {} may be queried in this call",
                self.registry_scope
            ));
        }
        match &self.registry {
            Some(r) => {
                let r = std::sync::Arc::clone(r);
                super::run_blocking(self.rt.clone(), move || r.resolve_digest(&reference)).await
            }
            None => Err("no registry access is configured on this host".into()),
        }
    }
}

impl http::Host for CallState {
    async fn send(&mut self, req: http::Request) -> Result<http::Response, http::Error> {
        let remaining = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let request = super::http::Request {
            method: req.method,
            url: req.url,
            headers: req.headers.into_iter().map(|p| (p.key, p.value)).collect(),
            body: req.body,
            // Never outlive the call's own deadline: the guest is stuck in this import meanwhile.
            timeout: Some(
                req.timeout_ms
                    .map(|ms| std::time::Duration::from_millis(ms.into()))
                    .unwrap_or(remaining)
                    .min(remaining),
            ),
            follow_redirects: req.follow_redirects,
        };
        let result = self.http_send(request).await;
        match &result {
            Ok(r) => self.logs.push(
                t::LogLevel::Debug,
                &format!("http: {} ({} bytes)", r.status, r.body.len()),
            ),
            Err(e) => self.logs.push(t::LogLevel::Warn, &format!("http: {e}")),
        }
        result
            .map(|r| http::Response {
                status: r.status,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(key, value)| w::Pair { key, value })
                    .collect(),
                body: r.body,
            })
            .map_err(|e| match e {
                super::http::HttpError::Denied(s) => http::Error::Denied(s),
                super::http::HttpError::Timeout => http::Error::Timeout,
                super::http::HttpError::TooLarge => http::Error::TooLarge,
                super::http::HttpError::Invalid(s) => http::Error::Invalid(s),
                super::http::HttpError::Transport(s) => http::Error::Transport(s),
            })
    }
}
