//! SDMD's domain model, free of I/O: what a compose definition may say and what it means, and the
//! vocabulary every other crate shares.
//!
//! - [`spec`]: the canonical service definition, parsed and validated from a compose document
//!   (interpolation, `.env`, ports, volumes, networks, runtime settings, secrets and configs).
//! - [`project`]: a definition together with the files of its project directory, resolved into
//!   what a deploy uses and what may be shown.
//! - [`container`]: a container as SDMD tracks it (state, health, ports, labels, pull progress).
//! - [`service`] and [`status`]: stored services, and the grouping of containers into services
//!   with their status.
//! - [`audit`]: audit entries; [`events`]: the in-process event bus; [`plugins`]: the roles of
//!   plugin bindings.
//! - [`updates`]: what update checks find; [`schedule`]: the vocabulary of update schedules;
//!   [`text_enum`]: enums stored and sent as text.

pub mod audit;
pub mod container;
pub mod events;
pub mod net;
pub mod observe;
pub mod plugins;
pub mod project;
pub mod schedule;
pub mod service;
pub mod spec;
pub mod status;
pub mod templates;
pub mod text_enum;
pub mod updates;
