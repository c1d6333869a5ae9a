//! The one test harness every integration test in `host/tests` (and the benchmarks in
//! `host/benches`, through `#[path]`) includes with `mod support;`: the real parts a test needs,
//! each set up in one place.
//!
//! - [`docker`]: the real engine through the Docker CLI, the local registry on 127.0.0.1:5000,
//!   image builds, unique names, and the sweep of earlier runs' leftovers (label `sdmd.test`).
//! - [`db`]: a fresh PostgreSQL database per test ([`db::with_db`], or `#[sqlx::test]`), scratch
//!   databases for `sdmd` processes ([`db::ScratchDb`]), URLs of a pool's database, audit rows.
//! - [`app`]: the app in-process ([`TestApp`]: state, router, API token, request helpers).
//! - [`http`]: requests to a router with headers, peers and bodies, answered as [`http::Resp`].
//! - [`auth`]: the built-in auth app with an administrator, sign-in and tokens.
//! - [`process`]: the `sdmd` binary (CLI runs, `sdmd serve` processes killed on drop).
//! - [`net`]: free ports, local HTTP servers, plain GETs.
//! - [`plugins`]: the guest plugin builds from `plugins/dist` and the shared compile cache.
//! - [`wait`]: polling with a deadline, and `catch_unwind` for futures (cleanup before failing).
//!
//! `inspect_normalise.rs` (the `docker inspect` comparison of the parity tests) lives here too
//! but is included only by the tests that compare, with `#[path]`: its unit tests would otherwise
//! run in every test binary.
//!
//! Every binary uses a different part of the tree, so unused items are expected here.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod auth;
pub mod db;
pub mod docker;
pub mod http;
pub mod net;
pub mod plugins;
pub mod process;
pub mod wait;

pub use app::TestApp;
pub use db::with_db;
pub use docker::{
    DOCKER, REGISTRY, build_http_image, build_image, docker, docker_ok, env_of, inspect,
    service_containers, stacks_dir, subnet_prefix, unique,
};
pub use net::{free_port, http_get};
pub use wait::{CatchUnwind, eventually};
