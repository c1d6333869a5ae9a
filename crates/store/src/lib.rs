//! SDMD's storage. **Architecture invariant:** this is the only crate that depends on `sqlx`
//! (and so the only one that holds SQL).
//!
//! - [`db`]: the pool, migrations, and one module per table family (services and revisions,
//!   auth, audit log with its hash chain, plugins, registries, schedules, update history).
//! - [`pg`]: the embedded PostgreSQL of the default install.
//! - [`secrets`]: the installation key and sealed values (project files, registry passwords).
//! - [`audit_sink`]: the append-only file the audit chain is anchored to.

pub mod audit_sink;
pub mod db;
pub mod pg;
pub mod secrets;

use sdmd_model::spec;
