//! Guest SDK for SDMD plugins.
//!
//! A plugin is a WebAssembly component exporting one of the worlds of the WIT package
//! `sdmd:plugin@0.1.0`. This crate hides wit-bindgen: implement the trait for your kind and call its
//! export macro once.
//!
//! ```text
//! struct Always;
//! impl sdmd_plugin::UpdateStrategy for Always {
//!     fn decide(input: sdmd_plugin::StrategyInput) -> Result<sdmd_plugin::Decision, String> {
//!         Ok(sdmd_plugin::Decision::Skip(format!("{} stays", input.current.reference)))
//!     }
//! }
//! sdmd_plugin::export_update_strategy!(Always, manifest = "../plugin.json");
//! ```
//!
//! Enable the cargo feature named after the world you export (`update-strategy`, `health-check`,
//! `notifier`), build with `cargo build --release --target wasm32-wasip2`, and the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component to upload. The manifest JSON is embedded as the
//! custom section `sdmd-manifest`.

// The macro paths below name this crate absolutely so that code generated into a plugin crate (by the
// export macros) resolves the same way as code generated here.
extern crate self as sdmd_plugin;

#[doc(hidden)]
pub use serde_json as __serde_json;
#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Generated bindings. Not a stable API: use the re-exports and helper modules instead.
#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)] // generated FFI glue
pub mod __bindings {
    /// Every host interface, generated once and shared by the world modules below (via `with`).
    pub mod host {
        wit_bindgen::generate!({
            path: "../../wit/0.1.0",
            world: "host-api",
            runtime_path: "::sdmd_plugin::__wit_bindgen::rt",
        });
    }

    /// Export glue for `update-strategy`.
    #[cfg(feature = "update-strategy")]
    pub mod strategy_world {
        wit_bindgen::generate!({
            path: "../../wit/0.1.0",
            world: "update-strategy",
            runtime_path: "::sdmd_plugin::__wit_bindgen::rt",
            with: {
                "sdmd:plugin/types@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::types,
                "sdmd:plugin/log@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::log,
                "sdmd:plugin/config@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::config,
                "sdmd:plugin/registry@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::registry,
            },
            pub_export_macro: true,
            export_macro_name: "__export_update_strategy_world",
        });
    }

    /// Export glue for `health-check`.
    #[cfg(feature = "health-check")]
    pub mod health_world {
        wit_bindgen::generate!({
            path: "../../wit/0.1.0",
            world: "health-check",
            runtime_path: "::sdmd_plugin::__wit_bindgen::rt",
            with: {
                "sdmd:plugin/types@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::types,
                "sdmd:plugin/log@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::log,
                "sdmd:plugin/config@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::config,
                "sdmd:plugin/http@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::http,
            },
            pub_export_macro: true,
            export_macro_name: "__export_health_check_world",
        });
    }

    /// Export glue for `notifier`.
    #[cfg(feature = "notifier")]
    pub mod notifier_world {
        wit_bindgen::generate!({
            path: "../../wit/0.1.0",
            world: "notifier",
            runtime_path: "::sdmd_plugin::__wit_bindgen::rt",
            with: {
                "sdmd:plugin/types@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::types,
                "sdmd:plugin/log@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::log,
                "sdmd:plugin/config@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::config,
                "sdmd:plugin/http@0.1.0": ::sdmd_plugin::__bindings::host::sdmd::plugin::http,
            },
            pub_export_macro: true,
            export_macro_name: "__export_notifier_world",
        });
    }
}

use __bindings::host::sdmd::plugin as wit;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod arena;
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub use arena::CallArena;

pub use wit::types::{
    Candidate, Container, Decision, Event, EventKind, Health, HealthInput, Image, Pair, Port,
    Service, StrategyInput,
};

/// The WIT package version this SDK targets; must match the manifest's `wit` field.
pub const WIT_VERSION: &str = "0.1.0";

/// An update strategy: decides whether and to what a member's image is updated.
pub trait UpdateStrategy {
    /// Decide for one member. The default keeps the current image.
    fn decide(input: StrategyInput) -> Result<Decision, String> {
        Ok(Decision::Skip(format!(
            "{} is kept",
            input.current.reference
        )))
    }
}

/// A health check: judges a service after an update.
pub trait HealthCheck {
    /// Judge the service. The default calls [`HealthCheck::containers_ok`].
    fn check(input: HealthInput) -> Result<Health, String> {
        Ok(Self::containers_ok(&input))
    }

    /// Healthy when every container runs and none reports an unhealthy Docker HEALTHCHECK.
    fn containers_ok(input: &HealthInput) -> Health {
        for c in &input.containers {
            if c.state != "running" {
                return Health::Unhealthy(format!("container {} is {}", c.name, c.state));
            }
            if c.health.as_deref() == Some("unhealthy") {
                return Health::Unhealthy(format!("container {} reports unhealthy", c.name));
            }
        }
        Health::Healthy
    }
}

/// A notifier: delivers events somewhere.
pub trait Notifier {
    /// Deliver one event.
    fn deliver(event: Event) -> Result<(), String>;

    /// A one-line text for chat-like targets. Override to change the wording everywhere.
    fn text(event: &Event) -> String {
        let mut s = format!("[{}] {}", event_kind_name(event.kind), event.summary);
        if let Some(d) = &event.detail {
            s.push_str(": ");
            s.push_str(d);
        }
        s
    }
}

/// The kebab-case WIT name of an event kind (`update-available`, `updated`, ...).
pub fn event_kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::UpdateAvailable => "update-available",
        EventKind::Updated => "updated",
        EventKind::RolledBack => "rolled-back",
        EventKind::Failed => "failed",
        EventKind::ContainerDied => "container-died",
    }
}

/// Writing to the plugin's log (shown to the admin; size-capped by the host).
pub mod log {
    use super::wit::log::{Level, log};

    /// Log at debug level.
    pub fn debug(msg: impl AsRef<str>) {
        log(Level::Debug, msg.as_ref());
    }
    /// Log at info level.
    pub fn info(msg: impl AsRef<str>) {
        log(Level::Info, msg.as_ref());
    }
    /// Log at warn level.
    pub fn warn(msg: impl AsRef<str>) {
        log(Level::Warn, msg.as_ref());
    }
    /// Log at error level.
    pub fn error(msg: impl AsRef<str>) {
        log(Level::Error, msg.as_ref());
    }
}

/// The admin's settings for this plugin.
pub mod config {
    use super::wit::config;
    use serde::de::DeserializeOwned;

    /// One setting, deserialised; `Ok(None)` when unset.
    pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, String> {
        match config::get(key) {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| format!("setting {key}: {e}")),
        }
    }

    /// One setting, or `default` when unset.
    pub fn get_or<T: DeserializeOwned>(key: &str, default: T) -> Result<T, String> {
        Ok(get(key)?.unwrap_or(default))
    }

    /// A required setting; the error names it.
    pub fn require<T: DeserializeOwned>(key: &str) -> Result<T, String> {
        get(key)?.ok_or_else(|| format!("setting {key} is required"))
    }

    /// All settings as a JSON value.
    pub fn all() -> serde_json::Value {
        serde_json::from_str(&config::all()).unwrap_or(serde_json::Value::Null)
    }
}

/// Read-only registry access (update strategies with the `registry` grant).
pub mod registry {
    /// Tags of a repository such as `127.0.0.1:5000/demo/app`.
    pub fn list_tags(repository: &str) -> Result<Vec<String>, String> {
        super::wit::registry::list_tags(repository)
    }
    /// The manifest digest of `repo:tag`.
    pub fn resolve_digest(reference: &str) -> Result<String, String> {
        super::wit::registry::resolve_digest(reference)
    }
}

/// Outbound HTTP (health checks and notifiers with the `http` grant).
pub mod http {
    pub use super::wit::http::{Error, Request, Response};
    use super::wit::types::Pair;

    impl Response {
        /// The body as text (lossy UTF-8).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
        /// The first header with this name (case-insensitive).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|p| p.key.eq_ignore_ascii_case(name))
                .map(|p| p.value.as_str())
        }
    }

    impl Request {
        /// A request with no headers or body that does not follow redirects.
        pub fn new(method: &str, url: &str) -> Self {
            Request {
                method: method.to_string(),
                url: url.to_string(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
                follow_redirects: false,
            }
        }
        /// Add a header.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.push(Pair {
                key: name.to_string(),
                value: value.to_string(),
            });
            self
        }
        /// Set the body.
        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
            self.body = Some(body.into());
            self
        }
        /// Set a JSON body and its content type.
        pub fn json(self, value: &impl serde::Serialize) -> Result<Self, String> {
            let body = serde_json::to_vec(value).map_err(|e| e.to_string())?;
            Ok(self.header("content-type", "application/json").body(body))
        }
        /// Set the timeout in milliseconds.
        pub fn timeout_ms(mut self, ms: u32) -> Self {
            self.timeout_ms = Some(ms);
            self
        }
        /// Follow redirects within the grant.
        pub fn follow_redirects(mut self, follow: bool) -> Self {
            self.follow_redirects = follow;
            self
        }
        /// Send it.
        pub fn send(self) -> Result<Response, Error> {
            send(self)
        }
    }

    /// Send a request.
    pub fn send(req: Request) -> Result<Response, Error> {
        super::wit::http::send(&req)
    }

    /// `GET url`.
    pub fn get(url: &str) -> Result<Response, Error> {
        Request::new("GET", url).send()
    }
}

/// Embed a manifest file as the `sdmd-manifest` custom section (used by the export macros).
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_manifest {
    ($path:literal) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            // The host reads the manifest from this custom section of the component; `used` keeps the
            // linker from dropping a static nobody references.
            #[allow(unsafe_code)]
            #[used]
            #[unsafe(link_section = "sdmd-manifest")]
            static MANIFEST: [u8; include_bytes!($path).len()] = *include_bytes!($path);
        };
    };
}

/// Export a type implementing [`UpdateStrategy`] (needs the `update-strategy` feature).
/// `manifest` is a path to the plugin's manifest JSON, relative to the calling file.
#[cfg(feature = "update-strategy")]
#[macro_export]
macro_rules! export_update_strategy {
    ($ty:ty, manifest = $path:literal) => {
        $crate::__embed_manifest!($path);
        // Keeps the implementation "used" in native builds, where the export glue is compiled out.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn($crate::StrategyInput) -> Result<$crate::Decision, String> = <$ty as $crate::UpdateStrategy>::decide;
        // Native builds (`cargo test` of a plugin's logic) have no component exports to link.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;
            impl $crate::__bindings::strategy_world::exports::sdmd::plugin::strategy::Guest for Export {
                fn decide(input: $crate::StrategyInput) -> Result<$crate::Decision, String> {
                    <$ty as $crate::UpdateStrategy>::decide(input)
                }
            }
            $crate::__bindings::strategy_world::__export_update_strategy_world!(Export with_types_in $crate::__bindings::strategy_world);
        };
    };
}

/// Export a type implementing [`HealthCheck`] (needs the `health-check` feature).
#[cfg(feature = "health-check")]
#[macro_export]
macro_rules! export_health_check {
    ($ty:ty, manifest = $path:literal) => {
        $crate::__embed_manifest!($path);
        // Keeps the implementation "used" in native builds, where the export glue is compiled out.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn($crate::HealthInput) -> Result<$crate::Health, String> = <$ty as $crate::HealthCheck>::check;
        // Native builds (`cargo test` of a plugin's logic) have no component exports to link.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;
            impl $crate::__bindings::health_world::exports::sdmd::plugin::checker::Guest for Export {
                fn check(input: $crate::HealthInput) -> Result<$crate::Health, String> {
                    <$ty as $crate::HealthCheck>::check(input)
                }
            }
            $crate::__bindings::health_world::__export_health_check_world!(Export with_types_in $crate::__bindings::health_world);
        };
    };
}

/// Export a type implementing [`Notifier`] (needs the `notifier` feature).
#[cfg(feature = "notifier")]
#[macro_export]
macro_rules! export_notifier {
    ($ty:ty, manifest = $path:literal) => {
        $crate::__embed_manifest!($path);
        // Keeps the implementation "used" in native builds, where the export glue is compiled out.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn($crate::Event) -> Result<(), String> = <$ty as $crate::Notifier>::deliver;
        // Native builds (`cargo test` of a plugin's logic) have no component exports to link.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;
            impl $crate::__bindings::notifier_world::exports::sdmd::plugin::notify::Guest for Export {
                fn deliver(event: $crate::Event) -> Result<(), String> {
                    <$ty as $crate::Notifier>::deliver(event)
                }
            }
            $crate::__bindings::notifier_world::__export_notifier_world!(Export with_types_in $crate::__bindings::notifier_world);
        };
    };
}
