//! Privileges, resources and process attributes of a member (`cap_add`, `user`, `mem_limit`,
//! `ulimits`, `tmpfs`, `logging`, `stop_signal`, …), validated into canonical shapes. The Engine
//! API mapping lives in `docker::create::runtime`; adoption from inspect there too.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::validate::Walker;

/// Member keys this module reads (everything else is another module's or refused).
pub const KEYS: &[&str] = &[];

/// A member's runtime settings; empty means the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Runtime {}

/// Reads the keys of [`KEYS`] from a member map.
pub(super) fn parse(
    _w: &mut Walker,
    _path: &str,
    _map: &serde_json::Map<String, Value>,
) -> Runtime {
    Runtime {}
}
