//! SDMD's domain model, free of I/O: what a compose definition may say and what it means.
//!
//! - [`spec`]: the canonical service definition, parsed and validated from a compose document
//!   (interpolation, `.env`, ports, volumes, networks, runtime settings, secrets and configs).
//! - [`project`]: a definition together with the files of its project directory, resolved into
//!   what a deploy uses and what may be shown.
//!
//! The `sdmd` crate re-exports both modules under their old paths (`sdmd::spec`, `sdmd::project`).

pub mod project;
pub mod spec;
