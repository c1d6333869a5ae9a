//! SDMD: self-hosted Docker management. The `sdmd` binary is a thin shim over this library;
//! [`api::app`] builds the whole HTTP application from an [`state::AppState`].

pub mod api;
pub mod cli;
pub mod config;
pub mod server;
pub mod tls;

pub use sdmd_core::{
    audit_log, auth, cache, credentials, error, invalidation, metrics, mounts, notify, observe,
    ops, permissions, plugins, roots, runtime, schedule, state, templates, timetable, updates,
    variables,
};

/// The compose model lives in its own crate (no I/O); these keep the paths the rest of the code uses.
pub use sdmd_engine::{docker, live};
pub use sdmd_model::{events, project, spec};
pub use sdmd_registry as registry;
pub use sdmd_store::{audit_sink, db, pg, secrets};
