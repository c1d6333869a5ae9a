//! Registry checks without pulling: `HEAD /v2/<repo>/manifests/<tag>` with the Accept headers of
//! every manifest kind, bearer-token auth from the `WWW-Authenticate` challenge, a shared cache
//! per (registry, repository, tag), at most two requests in flight per registry, and `429`
//! answered by waiting as long as `Retry-After` says. For a multi-arch index the caller may ask
//! for this platform's manifest ([`Registry::platform_manifest`]): two GETs by digest, only when
//! the index digest is not the one the local image came from, and cached per index digest
//! (content-addressed, so the answer never goes stale).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

/// Accept header naming every manifest kind; without it registries answer a converted schema1
/// manifest whose digest never matches the local image.
const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// Requests allowed in flight per registry.
const PER_REGISTRY: usize = 2;

/// Largest manifest body we read (real indexes are a few KiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// The most tags read from one repository (pagination stops there).
pub const MAX_TAGS: usize = 10_000;

/// Resolved indexes kept; the map is cleared when it grows past this.
const MAX_RESOLVED: usize = 10_000;

/// Media types of a multi-platform index.
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// An OS/architecture pair as registries and the engine name them (`linux`, `amd64`, `v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// GOARCH spelling: `amd64`, `arm64`, `arm`, …
    pub architecture: String,
    /// `v7`, `v8`, … when the engine names one.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this process was built for, in Docker's spelling (the engine is on the local
    /// socket, so it is the engine's too unless emulated).
    pub fn host() -> Self {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7".to_owned())),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            other => (other, None),
        };
        Self {
            os: std::env::consts::OS.to_owned(),
            architecture: architecture.to_owned(),
            variant,
        }
    }
}

/// This platform's entry of a multi-arch index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformManifest {
    /// Digest of the platform's image manifest.
    pub digest: String,
    /// Digest of its config blob: the image id the engine gives the image once pulled.
    pub config: String,
}

/// An image reference split into the parts a registry needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry host (with port), e.g. `127.0.0.1:5000` or `registry-1.docker.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/nginx`.
    pub repository: String,
    /// Tag.
    pub tag: String,
    /// The repository as Docker names it in `RepoDigests` (`nginx`, `127.0.0.1:5000/demo/app`).
    pub docker_name: String,
}

impl ImageRef {
    /// Parses a tag reference; `None` for a digest-pinned one (nothing to check).
    pub fn parse(image: &str) -> Option<Self> {
        if image.contains('@') {
            return None;
        }
        let (name, tag) = sdmd_model::spec::split_image_ref(image);
        let tag = tag?;
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.clone()),
        };
        let (registry, repository) = if registry == "docker.io" {
            let repo = if path.contains('/') {
                path
            } else {
                format!("library/{path}")
            };
            ("registry-1.docker.io".to_owned(), repo)
        } else {
            (registry, path)
        };
        Some(Self {
            registry,
            repository,
            tag,
            docker_name: name,
        })
    }

    fn base_url(&self) -> String {
        // Like the engine, plain HTTP only for loopback registries.
        let host = self.registry.split(':').next().unwrap_or_default();
        let local = host == "localhost" || host.starts_with("127.") || host == "[::1]";
        format!(
            "{}://{}",
            if local { "http" } else { "https" },
            self.registry
        )
    }
}

/// What a registry said about a tag.
#[derive(Debug, Clone)]
pub struct RemoteDigest {
    /// `Docker-Content-Digest` of the tag (an index for multi-arch images).
    pub digest: String,
    /// Whether the tag points at a multi-platform index (manifest list or OCI index).
    pub index: bool,
    /// Whether this answer came from the cache.
    pub cached: bool,
}

/// A cached answer for a tag.
#[derive(Debug, Clone)]
struct Cached {
    at: Instant,
    digest: String,
    index: bool,
}

/// Why a check failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// The registry asked us to slow down.
    #[error("rate limited by {registry}; retry after {retry_after_s} s")]
    RateLimited {
        /// The registry.
        registry: String,
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The tag or repository does not exist.
    #[error("{0} not found in the registry")]
    NotFound(String),
    /// Authentication failed.
    #[error("the registry refused our credentials for {0}")]
    Unauthorized(String),
    /// Network or protocol failure.
    #[error("registry request failed: {0}")]
    Failed(String),
}

/// Counters for `/metrics` and benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Manifest HEAD requests sent.
    pub head: AtomicU64,
    /// Manifest GET requests sent.
    pub get: AtomicU64,
    /// Token requests sent.
    pub token: AtomicU64,
    /// Tag-list pages fetched (strategy candidates).
    pub tags: AtomicU64,
    /// Answers served from the cache.
    pub cache_hits: AtomicU64,
}

/// Credentials for one registry.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

/// When a repository's tags were listed, and the tags.
type TagList = (Instant, Arc<Vec<String>>);

/// The shared registry client of one replica.
pub struct Registry {
    http: reqwest::Client,
    ttl: Duration,
    cache: Mutex<HashMap<ImageRef, Cached>>,
    /// (registry, repository, index digest, platform) → that platform's manifest.
    resolved: Mutex<HashMap<(String, String, String, Platform), PlatformManifest>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// (registry, repository) → when listed and the tags.
    tag_lists: Mutex<HashMap<(String, String), TagList>>,
    /// One lock per tag being asked for, so concurrent checks of one image send one HEAD.
    inflight: Mutex<HashMap<ImageRef, Arc<Mutex<()>>>>,
    not_before: Mutex<HashMap<String, Instant>>,
    tokens: Mutex<HashMap<(String, String), String>>,
    /// Request counters.
    pub counters: Counters,
}

impl Registry {
    /// How long answers are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A client whose cache keeps answers for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        Self {
            http,
            ttl,
            cache: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            tag_lists: Mutex::new(HashMap::new()),
            not_before: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// Forgets cached answers (after a pull, the local image changed anyway).
    pub async fn invalidate(&self, image: &ImageRef) {
        self.cache.lock().await.remove(image);
    }

    /// The tag's current digest: from the cache when the answer is younger than `max_age` (and
    /// the TTL), else by one HEAD. Scheduled checks pass the TTL; a user's "check now" passes a
    /// short age so it sees a push made minutes ago while a batch still shares one answer.
    pub async fn digest(
        &self,
        image: &ImageRef,
        creds: Option<&Credentials>,
        max_age: Duration,
    ) -> Result<RemoteDigest, RegistryError> {
        let max_age = max_age.min(self.ttl);
        if let Some(hit) = self.fresh(image, max_age).await {
            return Ok(hit);
        }
        // Single flight per tag: concurrent checks of one image wait for the first one's answer.
        let flight = self
            .inflight
            .lock()
            .await
            .entry(image.clone())
            .or_default()
            .clone();
        let _flight = flight.lock().await;
        if let Some(hit) = self.fresh(image, max_age).await {
            return Ok(hit);
        }
        let _permit = self.slot(&image.registry).await?;
        self.not_rate_limited(&image.registry).await?;
        let result = self.head(image, creds).await;
        // Forget the lock once nobody else holds it (the map stays as small as the work in flight).
        {
            let mut inflight = self.inflight.lock().await;
            if Arc::strong_count(&flight) <= 2 {
                inflight.remove(image);
            }
        }
        let (digest, index) = result?;
        self.cache.lock().await.insert(
            image.clone(),
            Cached {
                at: Instant::now(),
                digest: digest.clone(),
                index,
            },
        );
        Ok(RemoteDigest {
            digest,
            index,
            cached: false,
        })
    }

    async fn fresh(&self, image: &ImageRef, max_age: Duration) -> Option<RemoteDigest> {
        let cache = self.cache.lock().await;
        let c = cache.get(image).filter(|c| c.at.elapsed() < max_age)?;
        self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(RemoteDigest {
            digest: c.digest.clone(),
            index: c.index,
            cached: true,
        })
    }

    /// One of the registry's request slots.
    async fn slot(
        &self,
        registry: &str,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, RegistryError> {
        let sem = {
            let mut l = self.limits.lock().await;
            l.entry(registry.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(PER_REGISTRY)))
                .clone()
        };
        sem.acquire_owned()
            .await
            .map_err(|e| RegistryError::Failed(e.to_string()))
    }

    async fn not_rate_limited(&self, registry: &str) -> Result<(), RegistryError> {
        if let Some(until) = self.not_before.lock().await.get(registry)
            && *until > Instant::now()
        {
            return Err(RegistryError::RateLimited {
                registry: registry.to_owned(),
                retry_after_s: (*until - Instant::now()).as_secs().max(1),
            });
        }
        Ok(())
    }

    /// This platform's manifest in the index `index_digest` of `image`'s repository: GET the
    /// index by digest, pick the entry for `platform`, GET that manifest for its config digest.
    /// Cached for good per index digest (content-addressed); callers only ask when the index
    /// differs from the one the local image came from.
    pub async fn platform_manifest(
        &self,
        image: &ImageRef,
        index_digest: &str,
        creds: Option<&Credentials>,
        platform: &Platform,
    ) -> Result<PlatformManifest, RegistryError> {
        let key = (
            image.registry.clone(),
            image.repository.clone(),
            index_digest.to_owned(),
            platform.clone(),
        );
        if let Some(p) = self.resolved.lock().await.get(&key) {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(p.clone());
        }
        let _permit = self.slot(&image.registry).await?;
        if let Some(p) = self.resolved.lock().await.get(&key) {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(p.clone());
        }
        self.not_rate_limited(&image.registry).await?;
        let index = self.get_manifest(image, index_digest, creds).await?;
        let digest = pick_platform(&index, platform).ok_or_else(|| {
            RegistryError::Failed(format!(
                "{}:{} has no image for {}/{}",
                image.docker_name, image.tag, platform.os, platform.architecture
            ))
        })?;
        let manifest = self.get_manifest(image, &digest, creds).await?;
        let config = manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| {
                RegistryError::Failed(format!("manifest {digest} names no config digest"))
            })?
            .to_owned();
        let resolved = PlatformManifest { digest, config };
        let mut map = self.resolved.lock().await;
        if map.len() >= MAX_RESOLVED {
            map.clear();
        }
        map.insert(key, resolved.clone());
        Ok(resolved)
    }

    /// GET a manifest by digest (counted as a GET), parsed as JSON.
    async fn get_manifest(
        &self,
        image: &ImageRef,
        digest: &str,
        creds: Option<&Credentials>,
    ) -> Result<serde_json::Value, RegistryError> {
        let resp = self
            .send(
                reqwest::Method::GET,
                image,
                &format!("manifests/{digest}"),
                creds,
            )
            .await?;
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_MANIFEST_BYTES as u64)
        {
            return Err(RegistryError::Failed(format!(
                "manifest {digest} is too large"
            )));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| RegistryError::Failed(e.to_string()))?;
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(RegistryError::Failed(format!(
                "manifest {digest} is too large"
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| RegistryError::Failed(format!("manifest {digest}: {e}")))
    }

    /// HEAD the tag: its digest and whether it is a multi-platform index.
    async fn head(
        &self,
        image: &ImageRef,
        creds: Option<&Credentials>,
    ) -> Result<(String, bool), RegistryError> {
        let resp = self
            .send(
                reqwest::Method::HEAD,
                image,
                &format!("manifests/{}", image.tag),
                creds,
            )
            .await?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let digest = header("docker-content-digest").ok_or_else(|| {
            RegistryError::Failed("the registry sent no Docker-Content-Digest".into())
        })?;
        let index = header("content-type").is_some_and(|t| {
            INDEX_TYPES
                .iter()
                .any(|i| t.split(';').next().is_some_and(|t| t.trim() == *i))
        });
        Ok((digest, index))
    }

    /// Every tag of `image`'s repository (`GET /v2/<repo>/tags/list`, following `Link` pages up
    /// to [`MAX_TAGS`]) with the same auth as manifest requests; cached per repository for
    /// `max_age` (capped by the TTL).
    pub async fn list_tags(
        &self,
        image: &ImageRef,
        creds: Option<&Credentials>,
        max_age: Duration,
    ) -> Result<Arc<Vec<String>>, RegistryError> {
        let key = (image.registry.clone(), image.repository.clone());
        let max_age = max_age.min(self.ttl);
        if let Some((at, tags)) = self.tag_lists.lock().await.get(&key)
            && at.elapsed() < max_age
        {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(tags.clone());
        }
        let _permit = self.slot(&image.registry).await?;
        self.not_rate_limited(&image.registry).await?;
        let mut tags = Vec::new();
        let mut path = "tags/list?n=1000".to_owned();
        loop {
            let resp = self.send(reqwest::Method::GET, image, &path, creds).await?;
            // RFC 5988 `Link: </v2/<repo>/tags/list?last=x&n=1000>; rel="next"`.
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split_once('<'))
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(p, _)| p.to_owned());
            let body: serde_json::Value = resp
                .json()
                .await
                .map_err(|e| RegistryError::Failed(format!("tag list: {e}")))?;
            tags.extend(
                body["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned)),
            );
            let prefix = format!("/v2/{}/", image.repository);
            match next.as_deref().and_then(|n| n.strip_prefix(&prefix)) {
                Some(rest) if tags.len() < MAX_TAGS => path = rest.to_owned(),
                _ => break,
            }
        }
        tags.truncate(MAX_TAGS);
        let tags = Arc::new(tags);
        self.tag_lists
            .lock()
            .await
            .insert(key, (Instant::now(), tags.clone()));
        Ok(tags)
    }

    /// One request for `path` under `/v2/<repo>/` (`manifests/<ref>`, `tags/list`) with our
    /// Accept header, answering a bearer challenge once; any answer but 200 becomes an error
    /// (429 also pauses the registry).
    async fn send(
        &self,
        method: reqwest::Method,
        image: &ImageRef,
        path: &str,
        creds: Option<&Credentials>,
    ) -> Result<reqwest::Response, RegistryError> {
        let url = format!("{}/v2/{}/{path}", image.base_url(), image.repository);
        let scope = format!("repository:{}:pull", image.repository);
        let mut token = self
            .tokens
            .lock()
            .await
            .get(&(image.registry.clone(), scope.clone()))
            .cloned();
        for attempt in 0..2 {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, ACCEPT);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            } else if let Some(c) = creds {
                req = req.basic_auth(&c.username, Some(&c.password));
            }
            let counter = if method == reqwest::Method::HEAD {
                &self.counters.head
            } else if path.starts_with("tags/") {
                &self.counters.tags
            } else {
                &self.counters.get
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let resp = req
                .send()
                .await
                .map_err(|e| RegistryError::Failed(e.to_string()))?;
            match resp.status().as_u16() {
                200 => return Ok(resp),
                401 if attempt == 0 => {
                    let challenge = resp
                        .headers()
                        .get(reqwest::header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    // Basic auth: the credentials (if any) went with this request already.
                    if challenge
                        .trim_start()
                        .to_ascii_lowercase()
                        .starts_with("basic")
                    {
                        return Err(RegistryError::Unauthorized(image.docker_name.clone()));
                    }
                    let t = self.fetch_token(&challenge, &scope, creds).await?;
                    self.tokens
                        .lock()
                        .await
                        .insert((image.registry.clone(), scope.clone()), t.clone());
                    token = Some(t);
                }
                401 | 403 => return Err(RegistryError::Unauthorized(image.docker_name.clone())),
                404 => {
                    return Err(RegistryError::NotFound(
                        match path.strip_prefix("manifests/") {
                            Some(reference) => format!("{}:{reference}", image.docker_name),
                            None => image.docker_name.clone(),
                        },
                    ));
                }
                429 => {
                    let secs = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(60);
                    self.not_before.lock().await.insert(
                        image.registry.clone(),
                        Instant::now() + Duration::from_secs(secs),
                    );
                    return Err(RegistryError::RateLimited {
                        registry: image.registry.clone(),
                        retry_after_s: secs,
                    });
                }
                other => {
                    return Err(RegistryError::Failed(format!(
                        "{method} {url} answered {other}"
                    )));
                }
            }
        }
        Err(RegistryError::Unauthorized(image.docker_name.clone()))
    }

    /// Answers a `Bearer realm=…,service=…` challenge with a token for `scope`.
    async fn fetch_token(
        &self,
        challenge: &str,
        scope: &str,
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let params = parse_challenge(challenge).ok_or_else(|| {
            RegistryError::Failed(format!("unsupported auth challenge `{challenge}`"))
        })?;
        let realm = params
            .get("realm")
            .ok_or_else(|| RegistryError::Failed("challenge without realm".into()))?;
        let mut req = self.http.get(realm).query(&[("scope", scope)]);
        if let Some(service) = params.get("service") {
            req = req.query(&[("service", service)]);
        }
        if let Some(c) = creds {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        self.counters.token.fetch_add(1, Ordering::Relaxed);
        let resp = req
            .send()
            .await
            .map_err(|e| RegistryError::Failed(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(RegistryError::Unauthorized(realm.clone()));
        }
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| RegistryError::Failed(e.to_string()))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Failed("the token endpoint sent no token".into()))
    }
}

/// The digest of `platform`'s manifest in an index (manifest list or OCI index): same OS and
/// architecture, and the same variant when both name one (an entry without a variant matches any).
/// Attestation entries (`unknown/unknown`) never match.
fn pick_platform(index: &serde_json::Value, platform: &Platform) -> Option<String> {
    let entries = index["manifests"].as_array()?;
    let fits = |e: &&serde_json::Value, strict: bool| {
        let p = &e["platform"];
        p["os"].as_str() == Some(platform.os.as_str())
            && p["architecture"].as_str() == Some(platform.architecture.as_str())
            && match (p["variant"].as_str(), platform.variant.as_deref()) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => !strict,
            }
    };
    entries
        .iter()
        .find(|e| fits(e, true))
        .or_else(|| entries.iter().find(|e| fits(e, false)))
        .and_then(|e| e["digest"].as_str())
        .map(str::to_owned)
}

/// Parses `Bearer realm="…",service="…",scope="…"`.
fn parse_challenge(h: &str) -> Option<HashMap<String, String>> {
    let rest = h.trim().strip_prefix("Bearer ")?;
    let mut out = HashMap::new();
    let mut s = rest;
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q[..end].to_owned(), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        out.insert(key, value);
        s = tail.trim_start_matches(',').trim_start();
    }
    Some(out)
}

/// Whether a local image's `RepoDigests` already contain `digest` for this repository.
pub fn is_current(image: &ImageRef, repo_digests: &[String], digest: &str) -> bool {
    repo_digests.iter().any(|rd| match rd.split_once('@') {
        Some((name, d)) => d == digest && same_repo(name, &image.docker_name),
        None => false,
    })
}

fn same_repo(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        s.strip_prefix("library/").unwrap_or(s).to_owned()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_str()),
            ("registry-1.docker.io", "library/nginx", "latest")
        );
        let r = ImageRef::parse("127.0.0.1:5000/demo/app:v2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_str()),
            ("127.0.0.1:5000", "demo/app", "v2")
        );
        assert_eq!(r.base_url(), "http://127.0.0.1:5000");
        let r = ImageRef::parse("ghcr.io/org/app:1").unwrap();
        assert_eq!(r.base_url(), "https://ghcr.io");
        assert!(ImageRef::parse("app@sha256:abc").is_none());
    }

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#)
            .unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["service"], "registry.docker.io");
        assert!(parse_challenge("Basic realm=x").is_none());
    }

    #[test]
    fn picks_the_platform_entry() {
        let index = serde_json::json!({"manifests": [
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:arm7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
            {"digest": "sha256:arm6", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
            {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:amd64", "platform": {"os": "linux", "architecture": "amd64"}},
        ]});
        let p = |arch: &str, variant: Option<&str>| Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(str::to_owned),
        };
        assert_eq!(
            pick_platform(&index, &p("amd64", None)).as_deref(),
            Some("sha256:amd64")
        );
        assert_eq!(
            pick_platform(&index, &p("arm", Some("v6"))).as_deref(),
            Some("sha256:arm6")
        );
        assert_eq!(
            pick_platform(&index, &p("arm64", None)).as_deref(),
            Some("sha256:arm64")
        );
        assert_eq!(pick_platform(&index, &p("s390x", None)), None);
        assert_eq!(
            pick_platform(&serde_json::json!({}), &p("amd64", None)),
            None
        );
        assert_eq!(Platform::host().os, std::env::consts::OS);
    }

    #[test]
    fn matches_repo_digests() {
        let r = ImageRef::parse("nginx:1").unwrap();
        assert!(is_current(&r, &["nginx@sha256:aa".into()], "sha256:aa"));
        assert!(is_current(
            &r,
            &["docker.io/library/nginx@sha256:aa".into()],
            "sha256:aa"
        ));
        assert!(!is_current(&r, &["other@sha256:aa".into()], "sha256:aa"));
        assert!(!is_current(&r, &["nginx@sha256:bb".into()], "sha256:aa"));
    }
}
