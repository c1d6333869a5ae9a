//! Networking attributes of a member (`networks`, `network_mode`, `hostname`, `dns`, …) and the
//! top-level `networks`, validated into canonical shapes. The Engine API mapping lives in
//! `docker::create::network`; adoption from inspect there too.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::validate::Walker;

/// Member keys this module reads (everything else is another module's or refused).
pub const MEMBER_KEYS: &[&str] = &[];

/// A member's networking settings; empty means compose's defaults (the service network).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberNetwork {}

/// Reads the keys of [`MEMBER_KEYS`] from a member map.
pub(super) fn parse_member(
    _w: &mut Walker,
    _path: &str,
    _map: &serde_json::Map<String, Value>,
) -> MemberNetwork {
    MemberNetwork {}
}
