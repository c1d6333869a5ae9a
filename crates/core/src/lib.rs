//! SDMD's core: the operations on services (deploy, adopt, start/stop, remove), the update pipeline
//! and its schedule runner, notifications, the plugin store, authentication, and the [`state::AppState`]
//! they share. No HTTP here: the `sdmd` crate's API calls into these modules.

pub mod audit_log;
pub mod auth;
pub mod cache;
pub mod change;
pub mod credentials;
pub mod error;
pub mod invalidation;
pub mod metrics;
pub mod mounts;
pub mod notify;
pub mod observe;
pub mod observed;
pub mod ops;
pub mod permissions;
pub mod plugins;
pub mod roots;
pub mod runtime;
pub mod schedule;
pub mod sizes;
pub mod state;
pub mod templates;
pub mod timetable;
pub mod updates;
pub mod variables;

/// The lower crates under the paths these modules use.
pub use sdmd_engine::{docker, live};
pub use sdmd_model::{events, project, spec};
pub use sdmd_registry as registry;
pub use sdmd_store::{audit_sink, db, pg, secrets};
