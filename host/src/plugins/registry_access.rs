//! Backs the `registry` capability with the core's registry client: digests through its cache, tags by
//! an anonymous `GET /v2/<repo>/tags/list`. A strategy may only ask about the repository of the image it
//! is deciding on (the call's scope), so the capability cannot be turned into requests to arbitrary hosts.

use std::sync::Arc;
use std::time::Duration;

use crate::registry::ImageRef;

/// The most tags read (pagination stops there).
const MAX_TAGS: usize = 10_000;

/// The core registry client as a [`super::Registry`].
pub struct CoreRegistry {
    registry: Arc<crate::registry::Registry>,
    http: reqwest::Client,
}

impl CoreRegistry {
    /// Wrap the core's client.
    pub fn new(registry: Arc<crate::registry::Registry>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        CoreRegistry { registry, http }
    }
}

/// Like the engine (and the core's client): plain HTTP only for loopback registries.
fn base_url(registry: &str) -> String {
    let host = registry.split(':').next().unwrap_or_default();
    let local = host == "localhost" || host.starts_with("127.") || registry.starts_with("[::1]");
    format!("{}://{registry}", if local { "http" } else { "https" })
}

fn runtime() -> Result<tokio::runtime::Handle, String> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| "no async runtime for registry requests".to_string())
}

impl super::Registry for CoreRegistry {
    fn list_tags(&self, repository: &str) -> Result<Vec<String>, String> {
        let image = ImageRef::parse(&format!("{repository}:latest"))
            .ok_or_else(|| format!("{repository:?} is not a repository"))?;
        let mut url = format!(
            "{}/v2/{}/tags/list?n=1000",
            base_url(&image.registry),
            image.repository
        );
        let rt = runtime()?;
        rt.block_on(async {
            let mut tags = Vec::new();
            loop {
                let resp = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("listing tags: {e}"))?;
                match resp.status().as_u16() {
                    200 => {}
                    401 | 403 => {
                        return Err(format!(
                            "{} does not allow listing tags anonymously",
                            image.registry
                        ));
                    }
                    404 => return Err(format!("{repository} not found in the registry")),
                    s => return Err(format!("listing tags: HTTP {s}")),
                }
                // RFC 5988 `Link: </v2/...?last=x&n=1000>; rel="next"` for the next page.
                let next = resp
                    .headers()
                    .get(reqwest::header::LINK)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| l.split_once('<'))
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(path, _)| path.to_string());
                let body: serde_json::Value = resp
                    .json()
                    .await
                    .map_err(|e| format!("listing tags: {e}"))?;
                let page = body["tags"].as_array().cloned().unwrap_or_default();
                tags.extend(
                    page.into_iter()
                        .filter_map(|t| t.as_str().map(str::to_string)),
                );
                match next {
                    Some(path) if tags.len() < MAX_TAGS && path.starts_with('/') => {
                        url = format!("{}{path}", base_url(&image.registry));
                    }
                    _ => return Ok(tags),
                }
            }
        })
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

/// Whether `reference` (`repo` or `repo:tag`) names the repository `scope`.
pub fn in_scope(scope: &str, reference: &str) -> bool {
    let repo = match reference.rsplit_once(':') {
        // A colon after the last slash separates the tag; one before it is a registry port.
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    };
    !scope.is_empty() && repo == scope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope() {
        assert!(in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/app"
        ));
        assert!(in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/app:1.2.3"
        ));
        assert!(!in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/other:1"
        ));
        assert!(!in_scope(
            "127.0.0.1:5000/demo/app",
            "169.254.169.254/demo/app"
        ));
        assert!(!in_scope("", "x"));
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("ghcr.io"), "https://ghcr.io");
    }
}
