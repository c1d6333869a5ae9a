//! The service definition: a compose-style document with a `name`, validated and normalised.
//!
//! Input arrives as JSON or YAML and is first read into a `serde_json::Value`; [`parse`] walks it
//! by hand so that *every* problem is reported with its field path (`services.web.ports[1]`)
//! instead of stopping at the first serde error. The result, [`Definition`], is itself a valid
//! compose document in canonical shapes (environment as a map, depends_on as a map with
//! conditions, command as a list), which is what we store and export.

/// `.env` / `env_file` parsing with compose v2's quoting, escapes and interpolation.
pub mod dotenv;
/// Compose variable interpolation (`${VAR:-default}`) over an untyped document, plus type casts.
pub mod interpolate;
pub mod network;
/// Top-level `secrets` and `configs` and the members' references to them.
pub mod objects;
/// The opt-in definition policy (`SDMD_POLICY`).
pub mod policy;
mod ports;
pub mod runtime;
mod validate;
/// A member's `volumes` entries in short and long syntax.
pub mod volumes;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use ports::{LongPort, PortEntry, PortMapping, parse_port};
pub use validate::{Problem, parse};
pub use volumes::{LongVolume, VolumeEntry, VolumeKind};

/// A validated, DNS-safe service or member name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ServiceName(String);

impl ServiceName {
    /// Checks the DNS label rule: lowercase letters, digits and `-`, 1–63 characters, no leading or
    /// trailing `-`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_dns_label(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a DNS-safe name: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
            ))
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// SDMD's own top-level extension: `x-sdmd: {standard_environment: true}`.
pub const X_SDMD: &str = "x-sdmd";

/// The variables the standard-environment switch gives members that do not set them.
pub const STANDARD_ENVIRONMENT: [&str; 4] = ["TZ", "PUID", "PGID", "UMASK"];

/// Whether a document (as written or interpolated) turns the standard environment on
/// (`x-sdmd.standard_environment: true`).
pub fn standard_environment(doc: &serde_json::Value) -> bool {
    doc.get(X_SDMD)
        .and_then(|x| x.get("standard_environment"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

pub(crate) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A whole service: one or more members deployed and managed as one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Definition {
    /// Unique, DNS-safe; the service's address in the API.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    )]
    pub name: String,
    /// Members (compose "services"), in document order.
    pub services: IndexMap<String, Member>,
    /// Named volumes, created as `<service>_<volume>`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, VolumeDecl>,
    /// Networks members join; `default` (implicit) is `sdmd_<service>`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, network::NetworkDecl>,
    /// Secrets members read as files (`/run/secrets/<name>`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub secrets: IndexMap<String, objects::FileObject>,
    /// Configuration files members read.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub configs: IndexMap<String, objects::FileObject>,
    /// Top-level `x-*` extension fields (often YAML anchors' homes), kept exactly as written.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extensions: IndexMap<String, serde_json::Value>,
}

/// A top-level named volume declaration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VolumeDecl {
    /// Volume driver (default `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Options of the volume driver (`type: nfs`, `o: addr=…`, `device: …`), passed to the
    /// engine as written.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// Labels set on the volume.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// The volume's real name in Docker; default `<service>_<key>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The volume exists outside SDMD: deploy mounts it but never creates or removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
}

/// One container of a service, in canonical compose shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// Image reference, e.g. `127.0.0.1:5000/demo/app:latest`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub image: String,
    /// Fixed container name; default `<service>-<member>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environment: IndexMap<String, String>,
    /// Mounts as written: short syntax (`name:/path[:mode]`, `/host:/path[:mode]`, `/path`) or
    /// long syntax maps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeEntry>,
    /// Published ports as written: short syntax (`[ip:][host:]container[/proto]`, ranges
    /// allowed) or long syntax maps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortEntry>,
    /// Profiles the member belongs to: it is deployed only when one of them is selected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// `no`, `always`, `on-failure[:N]` or `unless-stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// Members this one starts after, with the condition to wait for.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub depends_on: IndexMap<String, DependsOn>,
    /// Overrides the image's CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Container labels (keys under `io.sdmd.` are reserved).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Health check; overrides the image's HEALTHCHECK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Run an init process (tini) as PID 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// Top-level secrets the member reads, and where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<objects::FileRef>,
    /// Top-level configs the member reads, and where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<objects::FileRef>,
    /// Networking: attachments, modes, names and hosts (see [`network`]).
    #[serde(flatten)]
    pub network: network::MemberNetwork,
    /// Privileges, resources and process settings (see [`runtime`]).
    #[serde(flatten)]
    pub runtime: runtime::Runtime,
    /// `x-*` extension fields, kept exactly as written (compose ignores them; so does deploy).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extensions: IndexMap<String, serde_json::Value>,
}

impl Member {
    /// Members this one must start after: `depends_on` plus the implicit dependencies of
    /// `network_mode`, `ipc` and `pid: service:X`, `volumes_from` and `links`, as in compose.
    pub fn dependencies(&self) -> Vec<String> {
        let mut deps: Vec<String> = self.depends_on.keys().cloned().collect();
        let implicit = self
            .network
            .service_dependency()
            .into_iter()
            .chain(self.network.link_targets().into_iter().map(|(m, _)| m))
            .chain(self.runtime.namespace_services())
            .chain(self.runtime.volume_services());
        for d in implicit {
            if !deps.contains(&d) {
                deps.push(d);
            }
        }
        deps
    }
}

impl Member {
    /// Members whose container this one joins by id (`network_mode`, `ipc`, `pid: service:X`):
    /// when one is recreated, this one must be too.
    pub fn namespace_owners(&self) -> Vec<String> {
        let mut out = self.runtime.namespace_services();
        out.extend(self.network.service_dependency());
        out
    }
}

/// A dependency edge of `depends_on`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependsOn {
    /// What the dependency must reach before this member starts.
    pub condition: Condition,
    /// Restart this member when deploy recreates or restarts the dependency.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// A dependency that is missing or not ready only warns when `false`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl DependsOn {
    /// A required dependency with `condition`, as the list form writes it.
    pub fn on(condition: Condition) -> Self {
        Self {
            condition,
            restart: false,
            required: true,
        }
    }
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's container is running.
    ServiceStarted,
    /// The dependency's health check reports healthy.
    ServiceHealthy,
    /// The dependency ran to completion and exited with status 0.
    ServiceCompletedSuccessfully,
}

/// A container health check (durations as compose strings such as `10s` or `1m30s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Time one check may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Consecutive failures before unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Grace period after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
    /// Time between checks during the start period (Engine API 1.44+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<String>,
    /// Disable the image's health check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

/// The restart policy in the engine's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Never restart.
    No,
    /// Always restart.
    Always,
    /// Restart unless stopped by the user.
    UnlessStopped,
    /// Restart on non-zero exit, at most N times (0 = unlimited).
    OnFailure(u32),
}

impl Restart {
    /// Parses the compose spelling.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "no" => Ok(Self::No),
            "always" => Ok(Self::Always),
            "unless-stopped" => Ok(Self::UnlessStopped),
            "on-failure" => Ok(Self::OnFailure(0)),
            _ => match s.strip_prefix("on-failure:").map(str::parse::<u32>) {
                Some(Ok(n)) => Ok(Self::OnFailure(n)),
                _ => Err(format!(
                    "`{s}` is not a restart policy: use no, always, on-failure[:N] or unless-stopped"
                )),
            },
        }
    }
}

/// One parsed `volumes` entry of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A named volume declared at the top level.
    Named {
        volume: String,
        target: String,
        /// The short syntax's mode list (`ro`, `nocopy`, …), passed to the engine as written.
        mode: Option<String>,
    },
    /// A host path.
    Bind {
        source: String,
        target: String,
        mode: Option<String>,
    },
    /// An anonymous volume at a path.
    Anonymous { target: String },
    /// A tmpfs (long syntax `type: tmpfs`).
    Tmpfs { target: String },
}

impl Mount {
    /// The container path.
    pub fn target(&self) -> &str {
        match self {
            Self::Named { target, .. }
            | Self::Bind { target, .. }
            | Self::Anonymous { target }
            | Self::Tmpfs { target } => target,
        }
    }

    /// Parses the short syntax; `Err` carries a human explanation.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let check_target = |t: &str| -> Result<String, String> {
            if t.starts_with('/') && t.len() > 1 {
                Ok(t.to_owned())
            } else {
                Err(format!("`{t}` is not an absolute container path"))
            }
        };
        let check_mode = |m: &str| -> Result<(), String> {
            let ok = m.split(',').all(|o| {
                matches!(
                    o,
                    "ro" | "rw"
                        | "z"
                        | "Z"
                        | "nocopy"
                        | "shared"
                        | "slave"
                        | "private"
                        | "rshared"
                        | "rslave"
                        | "rprivate"
                )
            });
            if ok && !m.is_empty() {
                Ok(())
            } else {
                Err(format!("`{m}` is not a mount mode: use ro, rw, z or Z"))
            }
        };
        match parts.as_slice() {
            [target] => Ok(Self::Anonymous {
                target: check_target(target)?,
            }),
            [source, target] | [source, target, _] => {
                let target = check_target(target)?;
                let mode = parts.get(2).map(|m| m.to_string());
                if let Some(m) = &mode {
                    check_mode(m)?;
                }
                if source.starts_with('/') {
                    Ok(Self::Bind {
                        source: source.to_string(),
                        target,
                        mode,
                    })
                } else if source.starts_with('~') {
                    // compose expands `~` to the home of whoever runs it; SDMD has no such user.
                    Err(format!(
                        "`{source}` starts with `~`: use an absolute path, or `./` for the service's project directory"
                    ))
                } else if source.starts_with('.') {
                    Err(format!(
                        "`{source}` is a relative host path outside a project: it is resolved against the service's project directory when the service is stored"
                    ))
                } else if is_volume_name(source) {
                    Ok(Self::Named {
                        volume: source.to_string(),
                        target,
                        mode,
                    })
                } else {
                    Err(format!(
                        "`{source}` is neither an absolute host path nor a volume name"
                    ))
                }
            }
            _ => Err(format!(
                "`{s}` has too many `:`-separated parts: use source:target[:mode]"
            )),
        }
    }
}

fn is_volume_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Decodes a YAML compose document into an untyped value, resolving anchors and `<<` merge keys
/// (YAML's merge key type, which compose applies: local keys win over merged ones).
pub fn yaml_document(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let mut v: serde_norway::Value = serde_norway::from_slice(bytes).map_err(|e| e.to_string())?;
    v.apply_merge().map_err(|e| e.to_string())?;
    let mut doc = serde_json::to_value(v)
        .map_err(|e| format!("the document has keys compose cannot use: {e}"))?;
    objects::octal_modes(&mut doc);
    Ok(doc)
}

/// Parses a compose duration (`1m30s`, `500ms`, `10s`, `2h`) into nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let err = || format!("`{s}` is not a duration: use forms like 30s, 1m30s or 500ms");
    let mut total: i64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        if digits == 0 {
            return Err(err());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult: i64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(err()),
        };
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// The path with `.` and `..` resolved lexically, as the engine sees a bind source (it does not
/// resolve `..` against symlinks; the project code refuses symlink escapes separately).
pub(crate) fn lexical_path(p: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Checks an image reference against the distribution reference grammar
/// (`[registry[:port]/]path[:tag][@digest]`, lowercase path components).
pub fn is_valid_image_ref(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        // Domain (optional, with port) / path components / tag / digest, per distribution/reference.
        // ASCII classes only (the grammar's `\w` is ASCII): Unicode `\w` keeps the regex off its
        // DFA and made this check a fifth of a definition's validation time.
        let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let domain = r"(?:(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)+|\[[0-9a-fA-F:]+\])(?::[0-9]+)?|[a-zA-Z0-9-]+:[0-9]+)";
        let pattern = format!(
            r"^(?:{domain}/)?{component}(?:/{component})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?$"
        );
        regex::Regex::new(&pattern).expect("static image reference pattern compiles")
    });
    s.len() <= 255 && re.is_match(s)
}

/// Splits an image reference into (repository with registry, tag); the tag defaults to `latest`
/// and is `None` for a digest-pinned reference.
pub fn split_image_ref(image: &str) -> (String, Option<String>) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let pinned = image.contains('@');
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (
                without_digest[..at].to_owned(),
                (!pinned).then(|| without_digest[at + 1..].to_owned()),
            )
        }
        None => (
            without_digest.to_owned(),
            (!pinned).then(|| "latest".to_owned()),
        ),
    }
}

impl Definition {
    /// Members in dependency order (dependencies first). The definition was validated to be
    /// acyclic; any leftover is appended in document order rather than dropped.
    pub fn start_order(&self) -> Vec<String> {
        let mut done: Vec<String> = Vec::new();
        while done.len() < self.services.len() {
            let before = done.len();
            for (name, m) in &self.services {
                if !done.contains(name) && m.dependencies().iter().all(|d| done.contains(d)) {
                    done.push(name.clone());
                }
            }
            if done.len() == before {
                for name in self.services.keys() {
                    if !done.contains(name) {
                        done.push(name.clone());
                    }
                }
            }
        }
        done
    }

    /// The container name of a member.
    pub fn container_name(&self, member: &str) -> String {
        self.services
            .get(member)
            .and_then(|m| m.container_name.clone())
            .unwrap_or_else(|| format!("{}-{}", self.name, member))
    }

    /// The container name of replica `number` (1-based) of a member: the member's own name for
    /// the first, `<service>-<member>-<number>` for the others (compose numbers every container
    /// `<project>-<service>-<n>`; SDMD keeps its one-container name for the first replica, so
    /// scaling never renames a container). `container_name` excludes replicas.
    pub fn replica_name(&self, member: &str, number: u32) -> String {
        if number <= 1 {
            self.container_name(member)
        } else {
            format!("{}-{}-{number}", self.name, member)
        }
    }

    /// The Docker network all members join.
    pub fn network_name(&self) -> String {
        format!("sdmd_{}", self.name)
    }

    /// The Docker volume name of a top-level volume: its `name`, else `<service>_<volume>`.
    pub fn volume_name(&self, volume: &str) -> String {
        match self.volumes.get(volume).and_then(|d| d.name.clone()) {
            Some(n) => n,
            None => format!("{}_{}", self.name, volume),
        }
    }

    /// Hash of everything that shapes a member's container: a change means it must be recreated.
    pub fn config_hash(&self, member: &str) -> String {
        let mut h = Sha256::new();
        if let Some(m) = self.services.get(member) {
            // How many containers run is not part of any one container's configuration: scaling
            // leaves the existing replicas alone, as compose's service hash does.
            let mut one = m.clone();
            one.runtime.scale = None;
            one.runtime.deploy.replicas = None;
            // Neither are when the image is pulled and the hooks run around start/stop (not
            // part of the container either; compose v2's hash leaves them out too).
            one.runtime.pull_policy = None;
            one.runtime.post_start.clear();
            one.runtime.pre_stop.clear();
            // serde_json with preserve_order is deterministic for our canonical struct.
            h.update(serde_json::to_vec(&one).unwrap_or_default());
            for v in &m.volumes {
                if let Ok(Mount::Named { volume, .. }) = v.mount() {
                    h.update(volume.as_bytes());
                    if let Some(decl) = self.volumes.get(&volume) {
                        h.update(serde_json::to_vec(decl).unwrap_or_default());
                    }
                }
            }
        }
        // The secrets and configs read, with a digest of their content: a changed file or value
        // recreates the member (a copy is made at create, and a bind mount of a replaced file
        // keeps showing the old one). Only SHA-256 digests go in, as the files API shows them.
        if let Some(m) = self.services.get(member) {
            for (refs, decls) in [(&m.secrets, &self.secrets), (&m.configs, &self.configs)] {
                for r in refs {
                    if let Some(decl) = decls.get(&r.source) {
                        h.update(serde_json::to_vec(decl).unwrap_or_default());
                        if let Some(d) = &decl.data {
                            h.update(Sha256::digest(d));
                        }
                    }
                }
            }
        }
        h.update(self.network_name().as_bytes());
        // The networks joined, by their Docker names and declarations: a change (another
        // subnet, say) recreates the member, as compose does. The undeclared `default` is
        // `network_name` above, so members deployed before networks existed keep their hash.
        if let Some(m) = self.services.get(member) {
            for (key, _) in m.network.joined() {
                if key == network::DEFAULT && !self.networks.contains_key(&key) {
                    continue;
                }
                h.update(self.network_docker_name(&key).as_bytes());
                if let Some(decl) = self.networks.get(&key) {
                    h.update(serde_json::to_vec(decl).unwrap_or_default());
                }
            }
        }
        hex::encode(h.finalize())
    }

    /// The members a deploy with `profiles` selected runs, in start order (compose's rule: a
    /// member without profiles always runs, one with profiles when one of them is selected; `*`
    /// selects all). An enabled member requiring a member that is not enabled is an error, as
    /// in compose, where such a model is invalid; a `required: false` dependency is dropped.
    pub fn enabled_members(&self, profiles: &[String]) -> Result<Vec<String>, Vec<Problem>> {
        let all = profiles.iter().any(|p| p == "*");
        let enabled = |m: &Member| {
            all || m.profiles.is_empty() || m.profiles.iter().any(|p| profiles.contains(p))
        };
        let mut problems = Vec::new();
        let mut out = Vec::new();
        for name in self.start_order() {
            let Some(m) = self.services.get(&name) else {
                continue;
            };
            if !enabled(m) {
                continue;
            }
            // Explicit `depends_on` entries may be optional (`required: false`); the implicit
            // ones (`network_mode`/`ipc`/`pid: service:X`, `volumes_from`, `links`) never are: the
            // container joins or reads the other one, which must exist.
            for dep in m.dependencies() {
                let Some(dm) = self.services.get(&dep) else {
                    continue;
                };
                if enabled(dm) {
                    continue;
                }
                match m.depends_on.get(&dep) {
                    Some(d) if !d.required => {}
                    Some(_) => problems.push(Problem {
                        field: format!("services.{name}.depends_on.{dep}"),
                        message: format!(
                            "`{dep}` runs only with profile(s) {}, none of which is selected: select one (?profiles=…) or mark the dependency `required: false`",
                            dm.profiles.join(", ")
                        ),
                    }),
                    None => problems.push(Problem {
                        field: format!("services.{name}"),
                        message: format!(
                            "uses `{dep}` (network_mode, ipc, pid, volumes_from or links), which runs only with profile(s) {}, none of which is selected: select one (?profiles=…)",
                            dm.profiles.join(", ")
                        ),
                    }),
                }
            }
            out.push(name);
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Attributes that need a newer Engine API than the oldest SDMD talks to, as
    /// (field, minimum API version): a deploy refuses them on an older engine, which would
    /// silently ignore them.
    pub fn engine_requirements(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for (name, m) in &self.services {
            if m.healthcheck
                .as_ref()
                .is_some_and(|h| h.start_interval.is_some())
            {
                out.push((
                    format!("services.{name}.healthcheck.start_interval"),
                    "1.44",
                ));
            }
            if !m.runtime.annotations.is_empty() {
                out.push((format!("services.{name}.annotations"), "1.43"));
            }
            // Before API 1.44 a MAC address is a container setting, which applies to the
            // network the container is created on only; the others are joined later.
            for (key, a) in m.network.joined().iter().skip(1) {
                if a.mac_address.is_some() {
                    out.push((
                        format!("services.{name}.networks.{key}.mac_address"),
                        "1.44",
                    ));
                }
            }
        }
        out
    }

    /// Renders the definition as a compose YAML document.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "busybox",
            "library/busybox:1.36",
            "127.0.0.1:5000/demo/app:latest",
            "localhost/app",
            "ghcr.io/org/app:v1.2.3-rc.1",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "registry.example.com:443/a/b/c:tag_1",
        ] {
            assert!(is_valid_image_ref(ok), "{ok} should be valid");
        }
        for bad in [
            "",
            "UPPER/case",
            "app:",
            "app:bad tag",
            ":latest",
            "a//b",
            "app@sha256:xyz",
        ] {
            assert!(!is_valid_image_ref(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn splits_references() {
        assert_eq!(
            split_image_ref("127.0.0.1:5000/demo/app"),
            ("127.0.0.1:5000/demo/app".into(), Some("latest".into()))
        );
        assert_eq!(
            split_image_ref("127.0.0.1:5000/demo/app:v2"),
            ("127.0.0.1:5000/demo/app".into(), Some("v2".into()))
        );
        assert_eq!(split_image_ref("app@sha256:abc"), ("app".into(), None));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("500ms"), Ok(500_000_000));
        assert!(parse_duration_ns("10").is_err());
        assert!(parse_duration_ns("s").is_err());
        assert!(parse_duration_ns("1d").is_err());
    }

    #[test]
    fn mounts() {
        assert_eq!(
            Mount::parse("data:/data"),
            Ok(Mount::Named {
                volume: "data".into(),
                target: "/data".into(),
                mode: None
            })
        );
        assert_eq!(
            Mount::parse("data:/data:ro,nocopy"),
            Ok(Mount::Named {
                volume: "data".into(),
                target: "/data".into(),
                mode: Some("ro,nocopy".into())
            })
        );
        assert_eq!(
            Mount::parse("/srv/x:/srv:ro"),
            Ok(Mount::Bind {
                source: "/srv/x".into(),
                target: "/srv".into(),
                mode: Some("ro".into())
            })
        );
        assert_eq!(
            Mount::parse("/cache"),
            Ok(Mount::Anonymous {
                target: "/cache".into()
            })
        );
        assert!(Mount::parse("./rel:/x").is_err());
        assert!(Mount::parse("data:rel").is_err());
        assert!(Mount::parse("data:/x:bogus").is_err());
        assert!(Mount::parse("a:/b:ro:x").is_err());
    }

    #[test]
    fn yaml_anchors_and_merge_keys() {
        let doc = yaml_document(
            b"x-base: &base\n  restart: always\n  environment: {A: '1'}\nservices:\n  web:\n    <<: *base\n    restart: unless-stopped\n    image: busybox\n",
        )
        .expect("valid YAML");
        assert_eq!(doc["services"]["web"]["restart"], "unless-stopped");
        assert_eq!(doc["services"]["web"]["environment"]["A"], "1");
        assert!(doc["services"]["web"].get("<<").is_none());
    }

    #[test]
    fn extension_fields_round_trip() {
        let doc = serde_json::json!({
            "name": "ext",
            "x-common": {"restart": "always"},
            "services": {"web": {"image": "busybox", "x-note": [1, "two"]}}
        });
        let def = parse(&doc).expect("valid");
        assert_eq!(def.extensions["x-common"], doc["x-common"]);
        assert_eq!(
            def.services["web"].extensions["x-note"],
            doc["services"]["web"]["x-note"]
        );
        let stored = serde_json::to_value(&def).expect("serialises");
        assert_eq!(stored["x-common"], doc["x-common"]);
        let back: Definition = serde_json::from_value(stored).expect("deserialises");
        assert_eq!(back, def);
        assert_eq!(parse(&serde_json::to_value(&back).expect("json")), Ok(def));
    }

    #[test]
    fn restart_policies() {
        assert_eq!(Restart::parse("on-failure:3"), Ok(Restart::OnFailure(3)));
        assert_eq!(Restart::parse("unless-stopped"), Ok(Restart::UnlessStopped));
        assert!(Restart::parse("sometimes").is_err());
        assert!(Restart::parse("on-failure:x").is_err());
    }
}
