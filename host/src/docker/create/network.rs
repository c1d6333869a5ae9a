//! Maps a member's [`MemberNetwork`] onto the create body (and reads it back from inspect).

use bollard::models::{ContainerCreateBody, ContainerInspectResponse};

use crate::spec::Definition;
use crate::spec::network::MemberNetwork;

/// Applies `member`'s networking settings to `body`.
pub(crate) fn apply(_def: &Definition, _member: &str, _body: &mut ContainerCreateBody) {}

/// The networking settings of an existing container, minus compose's and the engine's defaults.
pub(crate) fn adopt(_c: &ContainerInspectResponse) -> MemberNetwork {
    MemberNetwork::default()
}
