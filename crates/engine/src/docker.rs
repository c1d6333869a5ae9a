//! The Docker Engine, spoken through bollard. **Architecture Invariant:** this is the only module
//! that imports `bollard`; everything else sees our own domain types ([`ContainerInfo`],
//! [`DockerError`], …).

mod adopt;
mod create;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{
    CreateImageOptionsBuilder, EventsOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use tokio::sync::RwLock;

pub use create::{CopiedFile, container_body, copied_files};
pub use sdmd_model::container::{
    ContainerInfo, ContainerState, Health, LogLine, LogStream, PublishedPort, PullProgress, labels,
};

/// What can go wrong talking to Docker, in the terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine cannot be reached (socket missing, connection refused, timeout).
    #[error("Docker is unavailable: {0}")]
    Unavailable(String),
    /// The container, image, network or volume does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The engine refused because of a conflict (name in use, port allocated, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The engine refused the request as invalid (HTTP 400: "No command specified", an invalid
    /// mount or port spec, an invalid reference, …): caused by the definition, not an engine fault.
    #[error("Docker rejected the request: {0}")]
    Rejected(String),
    /// Anything else the engine reported.
    #[error("{0}")]
    Other(String),
}

impl From<bollard::errors::Error> for DockerError {
    fn from(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match e {
            E::DockerResponseServerError {
                status_code: 404,
                message,
            } => Self::NotFound(message),
            E::DockerResponseServerError {
                status_code: 409,
                message,
            } => Self::Conflict(message),
            E::DockerResponseServerError {
                status_code: 400,
                message,
            } => Self::Rejected(message),
            E::DockerResponseServerError {
                status_code,
                message,
            } => Self::Other(format!("Docker answered {status_code}: {message}")),
            e @ (E::IOError { .. }
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::SocketNotFoundError(_)
            | E::RequestTimeoutError) => Self::Unavailable(e.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}

/// Credentials the engine uses for one pull.
#[derive(Clone)]
pub struct RegistryLogin {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
    /// Registry host.
    pub server: String,
}

/// Which containers to list.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Every container on the host.
    All,
    /// The container with this id.
    Id(&'a str),
    /// Containers carrying label `key=value`.
    Label(&'a str, &'a str),
}

/// What a local image looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image id (`sha256:…` of the config).
    pub id: String,
    /// `repo@sha256:…` digests the image is known by in registries.
    pub repo_digests: Vec<String>,
}

/// A container event worth reacting to.
#[derive(Debug, Clone)]
pub struct ContainerEvent {
    /// Container id.
    pub id: String,
    /// Docker's action (`start`, `die`, `destroy`, `health_status: healthy`, …).
    pub action: String,
    /// The exit code, on `die`.
    pub exit_code: Option<i64>,
    /// When the engine emitted it, nanoseconds since the epoch (the same for every subscriber).
    pub time_nano: i64,
}

/// Engine API < 1.44 reads a container's MAC address from `Config.MacAddress` only (1.44 moved
/// it to the endpoint, `EndpointSettings.MacAddress`, which older engines ignore on create).
/// bollard's create body is modelled on the newer API and has no `Config.MacAddress`, so SDMD
/// always puts the address on the create endpoint and, for an older engine, this request hook
/// moves it to `Config.MacAddress` — exactly where docker-compose 1.29 and the docker CLI send
/// it. Any other request passes through untouched.
///
/// `api` is the negotiated version: bollard 0.21 sends unversioned paths (its `Uri::parse` joins
/// the absolute endpoint path over the versioned one), which the engine serves at its own
/// version, the one negotiation found. A versioned path (`/v1.41/…`) says its own version.
fn mac_address_before_1_44(
    req: bollard::BollardRequest,
    api: (u32, u32),
) -> bollard::BollardRequest {
    let path = req.uri().path();
    let (version, rest) = match path
        .strip_prefix("/v")
        .and_then(|p| p.split_once('/'))
        .and_then(|(v, rest)| {
            let (major, minor) = v.split_once('.')?;
            Some(((major.parse().ok()?, minor.parse().ok()?), rest))
        }) {
        Some((v, rest)) => (v, rest),
        None => (api, path.trim_start_matches('/')),
    };
    let old_create =
        req.method() == http::Method::POST && rest == "containers/create" && version < (1, 44);
    if !old_create {
        return req;
    }
    let (parts, body) = req.into_parts();
    let http_body_util::Either::Left(full) = body else {
        return bollard::BollardRequest::from_parts(parts, body);
    };
    use futures_util::FutureExt;
    use http_body_util::BodyExt;
    // A `Full` body is ready at once; the create body is JSON that bollard just serialised.
    let Some(Ok(collected)) = full.clone().collect().now_or_never() else {
        return bollard::BollardRequest::from_parts(parts, http_body_util::Either::Left(full));
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&collected.to_bytes()) else {
        return bollard::BollardRequest::from_parts(parts, http_body_util::Either::Left(full));
    };
    let network = v["HostConfig"]["NetworkMode"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mac = v
        .pointer_mut(&format!(
            "/NetworkingConfig/EndpointsConfig/{}",
            network.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|ep| ep.remove("MacAddress"));
    match mac {
        Some(mac) => {
            v["MacAddress"] = mac;
            let bytes = serde_json::to_vec(&v).unwrap_or_default();
            bollard::BollardRequest::from_parts(parts, bollard::body_full(bytes.into()))
        }
        None => bollard::BollardRequest::from_parts(parts, http_body_util::Either::Left(full)),
    }
}

/// A handle on the Docker engine. The bollard client is created and its API version negotiated
/// lazily, and dropped after a connection failure so that a restarted (or upgraded) engine is
/// negotiated afresh.
#[derive(Clone)]
pub struct Docker {
    host: Option<String>,
    client: Arc<RwLock<Option<bollard::Docker>>>,
}

impl Docker {
    /// A handle for `DOCKER_HOST`-style `host`, or the local unix socket when `None`.
    pub fn new(host: Option<String>) -> Self {
        Self {
            host,
            client: Arc::new(RwLock::new(None)),
        }
    }

    pub(crate) async fn client(&self) -> Result<bollard::Docker, DockerError> {
        if let Some(c) = self.client.read().await.as_ref() {
            return Ok(c.clone());
        }
        let mut slot = self.client.write().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let raw = match &self.host {
            Some(h) => bollard::Docker::connect_with_host(h),
            None => bollard::Docker::connect_with_local_defaults(),
        }
        .map_err(|e| DockerError::Unavailable(e.to_string()))?;
        // Negotiate, never pin: this machine's engine speaks 1.41, Docker 29 requires >= 1.44.
        let negotiated = tokio::time::timeout(Duration::from_secs(5), raw.negotiate_version())
            .await
            .map_err(|_| DockerError::Unavailable("timed out negotiating the API version".into()))?
            .map_err(|e| DockerError::Unavailable(e.to_string()))?;
        let v = negotiated.client_version();
        let api = (v.major_version as u32, v.minor_version as u32);
        let negotiated =
            negotiated.with_request_modifier(move |req| mac_address_before_1_44(req, api));
        *slot = Some(negotiated.clone());
        Ok(negotiated)
    }

    /// Runs a call and forgets the client if the engine turned out to be unreachable.
    pub(crate) async fn call<T, F, Fut>(&self, f: F) -> Result<T, DockerError>
    where
        F: FnOnce(bollard::Docker) -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>>,
    {
        let c = self.client().await?;
        let r = f(c).await.map_err(DockerError::from);
        if let Err(DockerError::Unavailable(_)) = &r {
            *self.client.write().await = None;
        }
        r
    }

    /// Checks the engine answers; returns its API version.
    pub async fn ping(&self) -> Result<String, DockerError> {
        let v = self.call(|c| async move { c.version().await }).await?;
        Ok(v.api_version.unwrap_or_default())
    }

    /// Containers (running or not) matching `filter`.
    pub async fn list_containers(
        &self,
        filter: Filter<'_>,
    ) -> Result<Vec<ContainerInfo>, DockerError> {
        let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
        match filter {
            Filter::All => {}
            Filter::Id(id) => {
                filters.insert("id", vec![id.to_owned()]);
            }
            Filter::Label(k, v) => {
                filters.insert("label", vec![format!("{k}={v}")]);
            }
        }
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .call(|c| async move { c.list_containers(Some(opts)).await })
            .await?;
        Ok(list.into_iter().map(convert_summary).collect())
    }

    /// Streams container events until the connection drops.
    pub async fn container_events(
        &self,
    ) -> Result<impl Stream<Item = Result<ContainerEvent, DockerError>> + use<>, DockerError> {
        let c = self.client().await?;
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::new();
        filters.insert("type", vec!["container"]);
        let opts = EventsOptionsBuilder::default().filters(&filters).build();
        Ok(c.events(Some(opts)).filter_map(|ev| async move {
            match ev {
                Ok(m) => {
                    let actor = m.actor?;
                    let exit_code = actor
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get("exitCode"))
                        .and_then(|c| c.parse().ok());
                    let time_nano = m
                        .time_nano
                        .or_else(|| m.time.map(|t| t * 1_000_000_000))
                        .unwrap_or(0);
                    Some(Ok(ContainerEvent {
                        id: actor.id?,
                        action: m.action.unwrap_or_default(),
                        exit_code,
                        time_nano,
                    }))
                }
                Err(e) => Some(Err(DockerError::from(e))),
            }
        }))
    }

    /// Creates a network from its top-level declaration if none of that name exists. `labels`
    /// (SDMD's) go on last, over the declaration's own.
    pub async fn ensure_network(
        &self,
        name: &str,
        decl: &crate::spec::network::NetworkDecl,
        labels: HashMap<String, String>,
    ) -> Result<(), DockerError> {
        if self.network_exists(name).await? {
            return Ok(());
        }
        let mut all: HashMap<String, String> = decl
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.extend(labels);
        let map = |m: &indexmap::IndexMap<String, String>| {
            (!m.is_empty()).then(|| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<HashMap<_, _>>()
            })
        };
        let ipam = decl.ipam.as_ref().map(|i| bollard::models::Ipam {
            driver: i.driver.clone(),
            config: Some(
                i.config
                    .iter()
                    .map(|c| bollard::models::IpamConfig {
                        subnet: c.subnet.clone(),
                        ip_range: c.ip_range.clone(),
                        gateway: c.gateway.clone(),
                        auxiliary_addresses: map(&c.aux_addresses),
                    })
                    .collect(),
            ),
            options: map(&i.options),
        });
        let req = bollard::models::NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some(decl.driver.clone().unwrap_or_else(|| "bridge".into())),
            internal: decl.internal.then_some(true),
            attachable: decl.attachable.then_some(true),
            enable_ipv6: decl.enable_ipv6,
            options: map(&decl.driver_opts),
            ipam,
            labels: Some(all),
            ..Default::default()
        };
        match self
            .call(|c| async move { c.create_network(req).await })
            .await
        {
            // Another replica (or a concurrent deploy) created it first.
            Ok(_) | Err(DockerError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether a network exists (external networks must, as in compose).
    pub async fn network_exists(&self, name: &str) -> Result<bool, DockerError> {
        let n = name.to_owned();
        match self
            .call(|c| async move { c.inspect_network(&n, None).await })
            .await
        {
            Ok(_) => Ok(true),
            Err(DockerError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Connects a created (not yet started) container to the networks of `member` beyond the
    /// first: API 1.41 accepts only one network at create.
    pub async fn connect_networks(
        &self,
        id: &str,
        def: &crate::spec::Definition,
        member: &str,
    ) -> Result<(), DockerError> {
        for (network, endpoint) in create::network::secondary(def, member) {
            let req = bollard::models::NetworkConnectRequest {
                container: id.to_owned(),
                endpoint_config: Some(endpoint),
            };
            self.call(|c| async move { c.connect_network(&network, req).await })
                .await?;
        }
        Ok(())
    }

    /// Removes a network only if it carries label `key=value` (SDMD created it for that
    /// service); absent is fine. Networks someone else made are never removed.
    pub async fn remove_network_labelled(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), DockerError> {
        let n = name.to_owned();
        let owned = match self
            .call(|c| async move { c.inspect_network(&n, None).await })
            .await
        {
            Ok(net) => net
                .labels
                .is_some_and(|l| l.get(key).map(String::as_str) == Some(value)),
            Err(DockerError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if owned {
            self.remove_network(name).await?;
        }
        Ok(())
    }

    /// Removes a network; absent is fine.
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        let n = name.to_owned();
        match self
            .call(|c| async move { c.remove_network(&n).await })
            .await
        {
            Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates a named volume (idempotent in Docker).
    pub async fn ensure_volume(
        &self,
        name: &str,
        driver: Option<String>,
        driver_opts: HashMap<String, String>,
        labels: HashMap<String, String>,
    ) -> Result<(), DockerError> {
        let req = bollard::models::VolumeCreateRequest {
            name: Some(name.to_owned()),
            driver,
            driver_opts: (!driver_opts.is_empty()).then_some(driver_opts),
            labels: Some(labels),
            ..Default::default()
        };
        self.call(|c| async move { c.create_volume(req).await })
            .await
            .map(|_| ())
    }

    /// Removes a named volume; absent is fine.
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let n = name.to_owned();
        let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self
            .call(|c| async move { c.remove_volume(&n, Some(opts)).await })
            .await
        {
            Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether a volume exists (external volumes must, as in compose).
    pub async fn volume_exists(&self, name: &str) -> Result<bool, DockerError> {
        let n = name.to_owned();
        match self
            .call(|c| async move { c.inspect_volume(&n).await })
            .await
        {
            Ok(_) => Ok(true),
            Err(DockerError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A volume's host directory (`Mountpoint`); `None` when it does not exist.
    pub async fn volume_mountpoint(&self, name: &str) -> Result<Option<String>, DockerError> {
        let n = name.to_owned();
        match self
            .call(|c| async move { c.inspect_volume(&n).await })
            .await
        {
            Ok(v) => Ok(Some(v.mountpoint)),
            Err(DockerError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The volumes a container mounts (type `volume`), as (container path, volume name): what a
    /// recreate carries over so that data in anonymous volumes survives, as in compose.
    pub async fn volume_mounts(&self, id: &str) -> Result<Vec<(String, String)>, DockerError> {
        let i = id.to_owned();
        let inspect = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        Ok(inspect
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.typ.as_deref() == Some("volume"))
            .filter_map(|m| Some((m.destination?, m.name?)))
            .collect())
    }

    /// Names of volumes carrying a label `key=value`.
    pub async fn volumes_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, DockerError> {
        let filter = format!("{key}={value}");
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::new();
        filters.insert("label", vec![filter.as_str()]);
        let opts = bollard::query_parameters::ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let resp = self
            .call(|c| async move { c.list_volumes(Some(opts)).await })
            .await?;
        Ok(resp
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    /// The local image a reference points at, if present.
    pub async fn image(&self, reference: &str) -> Result<Option<ImageInfo>, DockerError> {
        let r = reference.to_owned();
        match self
            .call(|c| async move { c.inspect_image(&r).await })
            .await
        {
            Ok(i) => Ok(Some(ImageInfo {
                id: i.id.unwrap_or_default(),
                repo_digests: i.repo_digests.unwrap_or_default(),
            })),
            Err(DockerError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pulls an image, reporting each progress line.
    pub async fn pull(
        &self,
        reference: &str,
        credentials: Option<RegistryLogin>,
        mut progress: impl FnMut(PullProgress),
    ) -> Result<(), DockerError> {
        let c = self.client().await?;
        let opts = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let creds = credentials.map(|l| bollard::auth::DockerCredentials {
            username: Some(l.username),
            password: Some(l.password),
            serveraddress: Some(l.server),
            ..Default::default()
        });
        let mut stream = c.create_image(Some(opts), None, creds);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match DockerError::from(e) {
                // The engine answers 404/500 for unknown images or unreachable registries.
                DockerError::Other(m) | DockerError::NotFound(m) => {
                    DockerError::Other(format!("pull {reference}: {m}"))
                }
                other => other,
            })?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::Other(format!("pull {reference}: {err}")));
            }
            let detail = info.progress_detail.unwrap_or_default();
            progress(PullProgress {
                layer: info.id,
                status: info.status.unwrap_or_default(),
                current: detail.current,
                total: detail.total,
            });
        }
        Ok(())
    }

    /// Creates a container and returns its id.
    pub async fn create_container(
        &self,
        name: &str,
        platform: Option<&str>,
        body: bollard::models::ContainerCreateBody,
    ) -> Result<String, DockerError> {
        let mut opts =
            bollard::query_parameters::CreateContainerOptionsBuilder::default().name(name);
        // `platform` (API 1.41+) selects the image variant, as compose's `platform` does.
        if let Some(p) = platform {
            opts = opts.platform(p);
        }
        let opts = opts.build();
        let r = self
            .call(|c| async move { c.create_container(Some(opts), body).await })
            .await?;
        Ok(r.id)
    }

    /// Copies files into a created container (archive upload at `/`), one upload per file as
    /// compose v2 does: the tar entry carries the file's mode, and its uid/gid are applied
    /// (`copyUIDGID`) when the file sets one. Parent directories are created by the engine.
    pub async fn copy_files(&self, id: &str, files: &[CopiedFile]) -> Result<(), DockerError> {
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        for f in files {
            let mut header = tar::Header::new_ustar();
            header
                .set_path(f.path.trim_start_matches('/'))
                .map_err(|e| DockerError::Other(format!("{}: {e}", f.path)))?;
            header.set_size(f.content.len() as u64);
            header.set_mode(f.mode);
            header.set_uid(f.uid.unwrap_or(0));
            header.set_gid(f.gid.unwrap_or(0));
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            let mut b = tar::Builder::new(Vec::new());
            b.append(&header, f.content.as_slice())
                .and_then(|()| b.finish())
                .map_err(|e| DockerError::Other(format!("{}: {e}", f.path)))?;
            let archive = b
                .into_inner()
                .map_err(|e| DockerError::Other(format!("{}: {e}", f.path)))?;
            let mut opts =
                bollard::query_parameters::UploadToContainerOptionsBuilder::default().path("/");
            if f.uid.is_some() || f.gid.is_some() {
                opts = opts.copy_uidgid("1");
            }
            let opts = opts.build();
            let i = id.to_owned();
            self.call(|c| async move {
                c.upload_to_container(&i, Some(opts), bollard::body_full(archive.into()))
                    .await
            })
            .await?;
        }
        Ok(())
    }

    /// Starts a container; already running is fine. A host port another container already
    /// publishes is a [`DockerError::Conflict`] (see [`Docker::refused_start`]).
    pub async fn start(&self, id: &str) -> Result<(), DockerError> {
        let i = id.to_owned();
        match self
            .call(|c| async move { c.start_container(&i, None).await })
            .await
        {
            Err(DockerError::Other(message)) => Err(self.refused_start(id, message).await),
            r => r,
        }
    }

    /// Why the engine refused to start `id` with a server error. Docker answers a host port that
    /// is already taken with a 500 whose only distinction is its message text; the conflict is
    /// established from structured state instead: the container's own port bindings and the
    /// running containers that publish one of those host ports (`publish` filter). A port held
    /// by a process outside Docker is not visible that way and stays the engine's error.
    async fn refused_start(&self, id: &str, message: String) -> DockerError {
        let i = id.to_owned();
        let Ok(me) = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await
        else {
            return DockerError::Other(message);
        };
        let wanted: Vec<String> = me
            .host_config
            .and_then(|h| h.port_bindings)
            .into_iter()
            .flatten()
            .flat_map(|(port, binds)| {
                let proto = port.split_once('/').map_or("tcp", |(_, p)| p).to_owned();
                binds
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.host_port.filter(|p| !p.is_empty()))
                    .map(move |host| format!("{host}/{proto}"))
            })
            .collect();
        for published in wanted {
            let filters = HashMap::from([("publish", vec![published.clone()])]);
            let opts = ListContainersOptionsBuilder::default()
                .filters(&filters)
                .build();
            let Ok(holders) = self
                .call(|c| async move { c.list_containers(Some(opts)).await })
                .await
            else {
                continue;
            };
            if let Some(holder) = holders.iter().find(|h| h.id != me.id) {
                let name = holder.names.iter().flatten().next().map_or_else(
                    || holder.id.clone().unwrap_or_default(),
                    |n| n.trim_start_matches('/').to_owned(),
                );
                return DockerError::Conflict(format!(
                    "{message} (host port {published} is published by container {name})"
                ));
            }
        }
        DockerError::Other(message)
    }

    /// Stops a container (SIGTERM, then SIGKILL after `timeout_s`); already stopped is fine.
    pub async fn stop(&self, id: &str, timeout_s: i32) -> Result<(), DockerError> {
        let i = id.to_owned();
        let opts = StopContainerOptionsBuilder::default().t(timeout_s).build();
        self.call(|c| async move { c.stop_container(&i, Some(opts)).await })
            .await
    }

    /// Runs a lifecycle hook in a running container as `docker exec` does (compose v2's
    /// `post_start`/`pre_stop`): waits for it to finish and answers its exit code and the last
    /// few KiB of its output.
    pub async fn exec(
        &self,
        id: &str,
        hook: &crate::spec::runtime::Hook,
    ) -> Result<(i64, String), DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
        const KEEP: usize = 4096;
        let i = id.to_owned();
        let opts = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(hook.command.clone()),
            env: (!hook.environment.is_empty()).then(|| {
                hook.environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            }),
            privileged: Some(hook.privileged),
            user: hook.user.clone(),
            working_dir: hook.working_dir.clone(),
            ..Default::default()
        };
        let exec = self
            .call(|c| async move { c.create_exec(&i, opts).await })
            .await?;
        let exec_id = exec.id.clone();
        let started = self
            .call(|c| async move {
                c.start_exec(
                    &exec_id,
                    Some(StartExecOptions {
                        detach: false,
                        ..Default::default()
                    }),
                )
                .await
            })
            .await?;
        // The last KEEP bytes of the output (bounded while reading, cut once at the end).
        let mut tail: Vec<u8> = Vec::new();
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                tail.extend_from_slice(&chunk.map_err(DockerError::from)?.into_bytes());
                if tail.len() > 2 * KEEP {
                    tail.drain(..tail.len() - KEEP);
                }
            }
        }
        tail.drain(..tail.len().saturating_sub(KEEP));
        let exec_id = exec.id.clone();
        let done = self
            .call(|c| async move { c.inspect_exec(&exec_id).await })
            .await?;
        Ok((
            done.exit_code.unwrap_or(-1),
            String::from_utf8_lossy(&tail).into_owned(),
        ))
    }

    /// Stops a container, waiting its own `StopTimeout` (the `stop_grace_period` SDMD or compose
    /// set, else the engine's 10 s) before SIGKILL; already stopped is fine.
    pub async fn stop_default(&self, id: &str) -> Result<(), DockerError> {
        let i = id.to_owned();
        self.call(|c| async move { c.stop_container(&i, None).await })
            .await
    }

    /// Force-removes a container; absent is fine. Its anonymous volumes are removed only when
    /// `anonymous_volumes` is set (an explicit `DELETE …?volumes=true` of a container SDMD
    /// created): a recreate keeps them, as docker compose does, and the engine never removes a
    /// volume that was mounted by name, so volumes carried over or adopted survive either way.
    pub async fn remove_container(
        &self,
        id: &str,
        anonymous_volumes: bool,
    ) -> Result<(), DockerError> {
        let i = id.to_owned();
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(anonymous_volumes)
            .build();
        match self
            .call(|c| async move { c.remove_container(&i, Some(opts)).await })
            .await
        {
            Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Changes the owner of host paths through a short-lived helper container of `image`
    /// (which must have `chown`): each path bind-mounted at `/fix/<i>`, `chown -R -h uid:gid`
    /// run as root with every capability dropped but `CAP_CHOWN`, no network, a read-only root
    /// file system and `no-new-privileges`; the container is removed afterwards whatever
    /// happened. For an sdmd that does not run as root (issue 13, "File permissions").
    pub async fn chown_with_helper(
        &self,
        image: &str,
        paths: &[std::path::PathBuf],
        uid: u32,
        gid: u32,
    ) -> Result<(), DockerError> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut cmd = vec!["-R".to_owned(), "-h".to_owned(), format!("{uid}:{gid}")];
        let mut binds = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            binds.push(format!("{}:/fix/{i}", p.display()));
            cmd.push(format!("/fix/{i}"));
        }
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.to_owned()),
            entrypoint: Some(vec!["chown".to_owned()]),
            cmd: Some(cmd),
            user: Some("0:0".to_owned()),
            labels: Some(HashMap::from([(
                labels::HELPER.to_owned(),
                "chown".to_owned(),
            )])),
            network_disabled: Some(true),
            host_config: Some(bollard::models::HostConfig {
                binds: Some(binds),
                cap_drop: Some(vec!["ALL".to_owned()]),
                cap_add: Some(vec!["CHOWN".to_owned()]),
                network_mode: Some("none".to_owned()),
                readonly_rootfs: Some(true),
                security_opt: Some(vec!["no-new-privileges:true".to_owned()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("sdmd-chown-{}-{nanos}", std::process::id());
        let id = self.create_container(&name, None, body).await?;
        let ran = async {
            self.start(&id).await?;
            let i = id.clone();
            let code = self
                .call(|c| async move {
                    let mut s = c.wait_container(
                        &i,
                        None::<bollard::query_parameters::WaitContainerOptions>,
                    );
                    match s.next().await {
                        Some(Ok(r)) => Ok(r.status_code),
                        Some(Err(bollard::errors::Error::DockerContainerWaitError {
                            code,
                            ..
                        })) => Ok(code),
                        Some(Err(e)) => Err(e),
                        None => Ok(-1),
                    }
                })
                .await?;
            if code == 0 {
                Ok(())
            } else {
                let said: Vec<String> = self
                    .logs_tail(&id, 20)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.line)
                    .collect();
                Err(DockerError::Other(format!(
                    "the chown helper ({image}) exited with {code}: {}",
                    said.join(" / ")
                )))
            }
        }
        .await;
        if let Err(e) = self.remove_container(&id, true).await {
            tracing::warn!(error = %e, container = %id, "could not remove the chown helper");
        }
        ran
    }

    /// Renames a container.
    pub async fn rename(&self, id: &str, new_name: &str) -> Result<(), DockerError> {
        let i = id.to_owned();
        let opts = RenameContainerOptionsBuilder::default()
            .name(new_name)
            .build();
        self.call(|c| async move { c.rename_container(&i, opts).await })
            .await
    }

    /// The current health and state of one container.
    pub async fn container_status(
        &self,
        id: &str,
    ) -> Result<(ContainerState, Health), DockerError> {
        let i = id.to_owned();
        let r = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        let state = r.state.unwrap_or_default();
        let cs = match state.status {
            Some(s) => convert_state(s.as_ref()),
            None => ContainerState::Created,
        };
        let health = match state.health.and_then(|h| h.status) {
            Some(h) => convert_health(h.as_ref()),
            None => Health::None,
        };
        Ok((cs, health))
    }

    /// The exit code of a container that has exited (`None` while it runs or never ran).
    pub async fn exit_code(&self, id: &str) -> Result<Option<i64>, DockerError> {
        let i = id.to_owned();
        let r = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        Ok(r.state.and_then(|s| s.exit_code))
    }

    /// The last `tail` lines of a container's output (running or stopped).
    pub async fn logs_tail(&self, id: &str, tail: u32) -> Result<Vec<LogLine>, DockerError> {
        let stream = self.logs(id, tail, false).await?;
        futures_util::pin_mut!(stream);
        let mut out = Vec::new();
        while let Some(line) = stream.next().await {
            out.push(line?);
        }
        Ok(out)
    }

    /// A container's log as a stream of lines; with `follow` it stays open for new lines.
    pub async fn logs(
        &self,
        id: &str,
        tail: u32,
        follow: bool,
    ) -> Result<impl Stream<Item = Result<LogLine, DockerError>> + use<>, DockerError> {
        let c = self.client().await?;
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(follow)
            .tail(&tail.to_string())
            .build();
        let stream = c.logs(id, Some(opts));
        // Docker frames may hold several lines, and one line may span frames; split per stream.
        Ok(async_stream::try_stream! {
            futures_util::pin_mut!(stream);
            let mut partial: [String; 2] = [String::new(), String::new()];
            while let Some(frame) = stream.next().await {
                let frame = frame.map_err(DockerError::from)?;
                let (kind, bytes) = match frame {
                    bollard::container::LogOutput::StdErr { message } => (LogStream::Stderr, message),
                    bollard::container::LogOutput::StdOut { message }
                    | bollard::container::LogOutput::Console { message } => (LogStream::Stdout, message),
                    bollard::container::LogOutput::StdIn { .. } => continue,
                };
                let buf = &mut partial[kind as usize];
                buf.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(pos) = buf.find('\n') {
                    let raw: String = buf.drain(..=pos).collect();
                    yield parse_log_line(raw.trim_end_matches(['\n', '\r']), kind);
                }
            }
            for (i, rest) in partial.iter().enumerate() {
                if !rest.is_empty() {
                    let kind = if i == 0 { LogStream::Stdout } else { LogStream::Stderr };
                    yield parse_log_line(rest, kind);
                }
            }
        })
    }

    /// Reads a container and its image back into a member definition (for `adopt`).
    pub async fn adopt_member(&self, id: &str) -> Result<adopt::Adopted, DockerError> {
        let i = id.to_owned();
        let inspect = self
            .call(|c| async move { c.inspect_container(&i, None).await })
            .await?;
        let image_ref = inspect
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        let image = match inspect.image.clone() {
            Some(img_id) => self
                .call(|c| async move { c.inspect_image(&img_id).await })
                .await
                .ok(),
            None => None,
        };
        // Engines before API 1.48 derive a MAC address from the IPv4 address; later ones pick
        // one at random, so a chosen one cannot be told from theirs.
        let v = self.client().await?.client_version();
        let macs_from_ip = (v.major_version, v.minor_version) < (1, 48);
        let mut a = adopt::from_inspect(&image_ref, inspect, image, macs_from_ip);
        // `volumes_from` (`container:<id>[:mode]`) names a container by id too.
        for r in a.spec.runtime.volumes_from.iter_mut() {
            let Some(rest) = r.strip_prefix("container:").map(str::to_owned) else {
                continue;
            };
            let (other, mode) = match rest.split_once(':') {
                Some((o, m)) => (o.to_owned(), format!(":{m}")),
                None => (rest, String::new()),
            };
            if let Ok(c) = self
                .call(|c| async move { c.inspect_container(&other, None).await })
                .await
                && let Some(name) = c.name
            {
                *r = format!("container:{}{mode}", name.trim_start_matches('/'));
            }
        }
        // `container:<id>` names a container by id, which changes on every recreate: refer to
        // it by name (the caller turns a name of the same group into `service:<member>`).
        let modes = [
            &mut a.spec.network.network_mode,
            &mut a.spec.runtime.ipc,
            &mut a.spec.runtime.pid,
        ];
        for mode in modes {
            let Some(other) = mode
                .as_deref()
                .and_then(|m| m.strip_prefix("container:"))
                .map(str::to_owned)
            else {
                continue;
            };
            if let Ok(c) = self
                .call(|c| async move { c.inspect_container(&other, None).await })
                .await
                && let Some(name) = c.name
            {
                *mode = Some(format!("container:{}", name.trim_start_matches('/')));
            }
        }
        Ok(a)
    }
}

pub use adopt::{Adopted, LostSetting};

fn parse_log_line(raw: &str, stream: LogStream) -> LogLine {
    match raw.split_once(' ') {
        Some((ts, line)) if ts.len() >= 20 && ts.as_bytes()[4] == b'-' => LogLine {
            ts: ts.to_owned(),
            stream,
            line: line.to_owned(),
        },
        _ => LogLine {
            ts: String::new(),
            stream,
            line: raw.to_owned(),
        },
    }
}

fn convert_state(s: &str) -> ContainerState {
    match s {
        "running" => ContainerState::Running,
        "paused" => ContainerState::Paused,
        "restarting" => ContainerState::Restarting,
        "removing" => ContainerState::Removing,
        "exited" => ContainerState::Exited,
        "dead" => ContainerState::Dead,
        _ => ContainerState::Created,
    }
}

fn convert_health(s: &str) -> Health {
    match s {
        "starting" => Health::Starting,
        "healthy" => Health::Healthy,
        "unhealthy" => Health::Unhealthy,
        _ => Health::None,
    }
}

fn convert_summary(c: bollard::models::ContainerSummary) -> ContainerInfo {
    let name = c
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    let mut ports: Vec<PublishedPort> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
                protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
            })
        })
        .collect();
    ports.sort_by(|a, b| (a.container_port, &a.host_ip).cmp(&(b.container_port, &b.host_ip)));
    ports.dedup();
    // The list endpoint carries health only from API 1.52; older engines put it in the status text.
    let status_text = c.status.unwrap_or_default();
    let health = match c.health.and_then(|h| h.status) {
        Some(h) if !matches!(h.as_ref(), "" | "none") => convert_health(h.as_ref()),
        _ if status_text.contains("(healthy)") => Health::Healthy,
        _ if status_text.contains("(unhealthy)") => Health::Unhealthy,
        _ if status_text.contains("(health: starting)") => Health::Starting,
        _ => Health::None,
    };
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        image_id: c.image_id.unwrap_or_default(),
        state: c
            .state
            .map(|s| convert_state(s.as_ref()))
            .unwrap_or(ContainerState::Created),
        health,
        status_text,
        labels: c.labels.unwrap_or_default(),
        ports,
        created: c.created.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_request(version: &str, body: &serde_json::Value) -> bollard::BollardRequest {
        http::Request::builder()
            .method(http::Method::POST)
            .uri(format!(
                "http://localhost/v{version}/containers/create?name=x"
            ))
            .body(bollard::body_full(serde_json::to_vec(body).unwrap().into()))
            .unwrap()
    }

    fn body_of(req: bollard::BollardRequest) -> serde_json::Value {
        use futures_util::FutureExt;
        use http_body_util::BodyExt;
        let bytes = req
            .into_body()
            .collect()
            .now_or_never()
            .and_then(Result::ok)
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn mac_address_moves_to_the_container_config_before_api_1_44() {
        let body = serde_json::json!({
            "Image": "x",
            "HostConfig": {"NetworkMode": "sdmd_m"},
            "NetworkingConfig": {"EndpointsConfig": {"sdmd_m": {"Aliases": ["a"], "MacAddress": "02:42:ac:11:65:43"}}}
        });
        let old = body_of(mac_address_before_1_44(
            create_request("1.41", &body),
            (1, 52),
        ));
        assert_eq!(old["MacAddress"], "02:42:ac:11:65:43");
        assert_eq!(
            old["NetworkingConfig"]["EndpointsConfig"]["sdmd_m"],
            serde_json::json!({"Aliases": ["a"]})
        );
        let new = body_of(mac_address_before_1_44(
            create_request("1.44", &body),
            (1, 41),
        ));
        assert_eq!(new, body, "1.44 reads it on the endpoint");
        // bollard's own, unversioned paths: the negotiated version decides.
        let unversioned = |api| {
            let mut req = create_request("1.41", &body);
            *req.uri_mut() = "http://localhost/containers/create?name=x".parse().unwrap();
            body_of(mac_address_before_1_44(req, api))
        };
        assert_eq!(unversioned((1, 41))["MacAddress"], "02:42:ac:11:65:43");
        assert_eq!(unversioned((1, 52)), body);
        let plain = serde_json::json!({"Image": "x", "HostConfig": {"NetworkMode": "host"}});
        assert_eq!(
            body_of(mac_address_before_1_44(
                create_request("1.41", &plain),
                (1, 41)
            )),
            plain
        );
    }

    #[test]
    fn log_lines_keep_timestamp_and_text() {
        let l = parse_log_line(
            "2026-11-26T11:00:00.123456789Z hello world",
            LogStream::Stdout,
        );
        assert_eq!(l.ts, "2026-11-26T11:00:00.123456789Z");
        assert_eq!(l.line, "hello world");
        let l = parse_log_line("no timestamp", LogStream::Stderr);
        assert_eq!(l.line, "no timestamp");
        assert_eq!(l.stream, LogStream::Stderr);
    }
}
