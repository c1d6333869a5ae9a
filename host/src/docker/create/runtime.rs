//! Maps a member's [`Runtime`] onto the create body (and reads it back from inspect).

use bollard::models::{ContainerCreateBody, ContainerInspectResponse, ImageInspect};

use crate::spec::runtime::Runtime;

/// Applies a member's runtime settings to `body`.
pub(crate) fn apply(_rt: &Runtime, _body: &mut ContainerCreateBody) {}

/// The runtime settings of an existing container, minus the engine's and the image's defaults.
pub(crate) fn adopt(_c: &ContainerInspectResponse, _image: Option<&ImageInspect>) -> Runtime {
    Runtime::default()
}
