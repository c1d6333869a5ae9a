//! Plugins as the core uses them: the WebAssembly runtime is `sdmd-plugin-host` (re-exported
//! here); the core adds the plugin store (installed plugins, configuration, bindings to
//! services) and backs the `registry` capability with its registry client.

pub use sdmd_plugin_host::*;

pub mod registry_access;
pub mod store;
