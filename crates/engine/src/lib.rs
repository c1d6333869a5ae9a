//! SDMD's Docker engine. **Architecture invariant:** this is the only crate that depends on
//! `bollard`; everything above sees the domain types of `sdmd-model` ([`sdmd_model::container`])
//! and this crate's [`docker::Docker`] handle and [`docker::DockerError`].
//!
//! - [`docker`]: the client (lazy negotiation, reconnection), container bodies from definitions,
//!   adoption of existing containers into definitions.
//! - [`live`]: the in-memory cache of every container, kept current by the events stream.

pub mod docker;
pub mod live;
pub mod stats;

use sdmd_model::{events, spec};
