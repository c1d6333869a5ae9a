//! The JSON shapes the API publishes, with `Serialize`/`Deserialize` and `ToSchema`, and the
//! conversions from and into the domain types of the crates below. **Architecture Invariant:**
//! only this module (and the handlers beside it) knows how a response or request body looks;
//! the core, engine, store and registry crates have no OpenAPI dependency. The definition
//! document (`sdmd-model`'s spec types, with the `openapi` feature) is the one exception: the API
//! accepts and returns it verbatim.

pub mod auth;
pub mod permissions;
pub mod plugins;
pub mod registries;
pub mod services;
pub mod storage;
pub mod templates;
pub mod updates;
pub mod variables;
