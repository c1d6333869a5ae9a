//! Backs the `registry` capability with the core's registry client: digests and tag lists through its
//! cache and auth (anonymous bearer tokens, e.g. Docker Hub; stored credentials are not handed to
//! plugins). A strategy may only ask about the repository of the image it is deciding on (the call's
//! scope), so the capability cannot be turned into requests to arbitrary hosts.

use std::sync::Arc;

use crate::registry::ImageRef;

/// The core registry client as a [`super::Registry`].
pub struct CoreRegistry {
    registry: Arc<crate::registry::Registry>,
}

impl CoreRegistry {
    /// Wrap the core's client.
    pub fn new(registry: Arc<crate::registry::Registry>) -> Self {
        CoreRegistry { registry }
    }
}

fn runtime() -> Result<tokio::runtime::Handle, String> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| "no async runtime for registry requests".to_string())
}

impl super::Registry for CoreRegistry {
    fn list_tags(&self, repository: &str) -> Result<Vec<String>, String> {
        let image = ImageRef::parse(&format!("{repository}:latest"))
            .ok_or_else(|| format!("{repository:?} is not a repository"))?;
        let rt = runtime()?;
        rt.block_on(self.registry.list_tags(&image, None, self.registry.ttl()))
            .map(|tags| tags.as_ref().clone())
            .map_err(|e| format!("listing tags: {e}"))
    }

    fn resolve_digest(&self, reference: &str) -> Result<String, String> {
        let image = ImageRef::parse(reference)
            .ok_or_else(|| format!("{reference:?} is not a tag reference"))?;
        let rt = runtime()?;
        rt.block_on(self.registry.digest(&image, None, self.registry.ttl()))
            .map(|d| d.digest)
            .map_err(|e| e.to_string())
    }
}
