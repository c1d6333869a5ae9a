//! SDMD: self-hosted Docker management. The `sdmd` binary is a thin shim over this library;
//! [`api::app`] builds the whole HTTP application from an [`state::AppState`].

pub mod api;
pub mod audit_sink;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod docker;
pub mod error;
pub mod events;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod pg;
pub mod plugins;
pub mod project;
pub mod registry;
pub mod schedule;
pub mod secrets;
pub mod server;
pub mod spec;
pub mod state;
pub mod tls;
pub mod updates;
