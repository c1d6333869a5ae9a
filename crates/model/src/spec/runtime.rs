//! Privileges, resources and process attributes of a member (`cap_add`, `user`, `mem_limit`,
//! `ulimits`, `tmpfs`, `logging`, `stop_signal`, …), validated into canonical shapes. The Engine
//! API mapping lives in `docker::create::runtime`; adoption from inspect there too.
//!
//! Canonical means: byte sizes are stored as integers (bytes), `deploy.resources` is folded into
//! the plain fields it overrides (as compose v2 applies it after them), `devices` use the long
//! form. A stored definition therefore serialises back into a document compose also accepts.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::Walker;

/// Member keys this module reads (everything else is another module's or refused).
pub const KEYS: &[&str] = &[
    "cap_add",
    "cap_drop",
    "privileged",
    "security_opt",
    "user",
    "userns_mode",
    "group_add",
    "read_only",
    "devices",
    "device_cgroup_rules",
    "gpus",
    "cpus",
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpuset",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "pids_limit",
    "shm_size",
    "ulimits",
    "sysctls",
    "oom_kill_disable",
    "oom_score_adj",
    "blkio_config",
    "deploy",
    "scale",
    "ipc",
    "pid",
    "uts",
    "tty",
    "stdin_open",
    "working_dir",
    "stop_signal",
    "stop_grace_period",
    "tmpfs",
    "logging",
    "platform",
    "pull_policy",
    "runtime",
    "storage_opt",
    "cgroup",
    "cgroup_parent",
    "annotations",
    "post_start",
    "pre_stop",
    "volumes_from",
];

/// A device mapping (`devices`), in compose's long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Path on the host.
    pub source: String,
    /// Path in the container (the host path when not given).
    pub target: String,
    /// Cgroup permissions, `rwm` when not given (as compose and the docker CLI do).
    pub permissions: String,
}

/// A resource limit (`ulimits`): a single number means soft = hard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ulimit {
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// `logging`: the container's log driver and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Logging {
    /// Log driver; the daemon's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// `deploy.restart_policy` as compose v2 maps it onto a single container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any` (compose also takes `no`, `always`, `unless-stopped`).
    pub condition: String,
    /// Maximum restart attempts (on-failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
}

/// The `deploy` settings that map onto a single engine container (after folding resources).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    /// Restart policy; overrides `restart` as in compose v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// How many containers the member runs (as `scale`; the two must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
}

impl Deploy {
    fn is_empty(&self) -> bool {
        self.restart_policy.is_none() && self.replicas.is_none()
    }
}

/// The most containers one member may run (`scale`, `deploy.replicas`): a guard against a typo
/// creating thousands of containers; compose sets no limit.
pub const MAX_REPLICAS: u32 = 1000;

fn replicas_of(w: &mut Walker, path: &str, v: &Value) -> Option<u32> {
    int_of(w, path, v, 0, i64::from(MAX_REPLICAS)).and_then(|n| u32::try_from(n).ok())
}

/// A member's runtime settings; empty means the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Runtime {
    /// Capabilities added (`HostConfig.CapAdd`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Capabilities dropped (`HostConfig.CapDrop`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// Privileged mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Security options (`no-new-privileges:true`, `apparmor=…`, `seccomp=unconfined`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// `user[:group]` the process runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// User namespace mode (`host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// Supplementary groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// Read-only root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Host devices mapped into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Device cgroup rules (`c 1:3 mr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// CPUs (`HostConfig.NanoCpus` = cpus × 10⁹).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Relative CPU weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// CFS quota in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// CPUs the container may use (`0-3`, `0,1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Real-time runtime in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    /// Real-time period in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<i64>,
    /// Memory soft limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<i64>,
    /// Memory + swap limit in bytes (`-1` unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    /// Swappiness, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<i64>,
    /// Maximum number of processes (`-1` unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Size of `/dev/shm` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// Resource limits by name (`nofile`, `nproc`, …).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: IndexMap<String, Ulimit>,
    /// Kernel parameters.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sysctls: IndexMap<String, String>,
    /// Disable the OOM killer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// OOM score adjustment, -1000–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// The `deploy` settings left after folding `deploy.resources` into the fields above.
    #[serde(default, skip_serializing_if = "Deploy::is_empty")]
    pub deploy: Deploy,
    /// How many containers the member runs (default 1; `deploy.replicas` says the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// IPC namespace mode (`private`, `shareable`, `host`, `none`, `container:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// PID namespace mode (`host`, `container:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// UTS namespace mode (`host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// Allocate a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Keep STDIN open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    /// Working directory of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Signal that stops the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Time to wait after the stop signal before killing (a duration such as `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    /// tmpfs mounts: `/path` or `/path:options`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// Log driver and options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Image platform (`linux/amd64`), passed to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When deploy pulls the image: `missing` (the default) or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    /// OCI runtime (`runc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Storage driver options (`size: 1G`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub storage_opt: IndexMap<String, String>,
    /// OCI annotations handed to the runtime (`HostConfig.Annotations`, Engine API ≥ 1.43: a
    /// deploy to an older engine refuses them, which would drop them silently).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
    /// Cgroup namespace: `host` or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Parent cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// Containers whose volumes this one mounts: `service:<member>[:ro|rw]` or
    /// `container:<name>[:ro|rw]` (a bare name is a member when one has it, as in compose).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// Commands run in the container right after it starts (compose v2's `post_start`: an exec;
    /// a non-zero exit fails the start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    /// Commands run in the running container before it is stopped (compose v2's `pre_stop`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
}

/// A lifecycle hook (`post_start`/`pre_stop` entry): a command executed in the service's
/// container, as `docker exec` would.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hook {
    /// The command (a list, or a string split like `command:`).
    pub command: Vec<String>,
    /// User the command runs as (`user[:group]`); the container's user when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Run with extended privileges.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Working directory of the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Extra environment of the command.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environment: IndexMap<String, String>,
}

/// Parses a `post_start`/`pre_stop` list.
fn hooks_of(w: &mut Walker, path: &str, v: &Value) -> Vec<Hook> {
    let Value::Array(items) = v else {
        w.err(
            path,
            "must be a list of hooks ({command, user, privileged, working_dir, environment})",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(map) = item else {
            w.err(&p, "must be a map with `command`");
            continue;
        };
        let mut hook = Hook::default();
        for (k, v) in map {
            let kp = format!("{p}.{k}");
            match k.as_str() {
                "command" => hook.command = w.command(&kp, v).unwrap_or_default(),
                "user" => hook.user = non_empty(w, &kp, v),
                "privileged" => match v {
                    Value::Bool(b) => hook.privileged = *b,
                    _ => w.err(&kp, "must be true or false"),
                },
                "working_dir" => hook.working_dir = non_empty(w, &kp, v),
                "environment" => hook.environment = w.key_values(&kp, v),
                k if k.starts_with("x-") => {}
                _ => w.err(
                    &kp,
                    "is not a hook attribute (command, user, privileged, working_dir, environment)",
                ),
            }
        }
        if hook.command.is_empty() {
            w.err(format!("{p}.command"), "is required and must not be empty");
        }
        out.push(hook);
    }
    out
}

impl Runtime {
    /// Members whose namespaces (`ipc`, `pid: service:X`) this one joins.
    pub fn namespace_services(&self) -> Vec<String> {
        [&self.ipc, &self.pid]
            .into_iter()
            .flatten()
            .filter_map(|m| m.strip_prefix("service:").map(str::to_owned))
            .collect()
    }

    /// Members whose volumes this one mounts (`volumes_from: service:X`).
    pub fn volume_services(&self) -> Vec<String> {
        self.volumes_from
            .iter()
            .filter_map(|v| v.strip_prefix("service:"))
            .map(|v| v.split(':').next().unwrap_or(v).to_owned())
            .collect()
    }
}

/// A `volumes_from` entry: `NAME[:mode]`, `service:NAME[:mode]` or `container:NAME[:mode]`,
/// mode `ro` or `rw`. A bare `NAME` is kept bare for the cross-member check to qualify.
fn volumes_from_of(w: &mut Walker, path: &str, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (p, s) in w.string_list(path, v) {
        let parts: Vec<&str> = s.split(':').collect();
        let (name, mode) = match parts.as_slice() {
            [name] => (*name, None),
            ["service" | "container", name] => (*name, None),
            ["service" | "container", name, mode] => (*name, Some(*mode)),
            [name, mode] => (*name, Some(*mode)),
            _ => {
                w.err(
                    &p,
                    format!("`{s}` is not [service:|container:]NAME[:ro|rw]"),
                );
                continue;
            }
        };
        if name.is_empty() {
            w.err(&p, format!("`{s}` names no service or container"));
            continue;
        }
        if let Some(m) = mode
            && m != "ro"
            && m != "rw"
        {
            w.err(
                &p,
                format!("`{m}` is not a volumes_from mode: use ro or rw"),
            );
            continue;
        }
        if out.contains(&s) {
            continue;
        }
        out.push(s);
    }
    out
}

impl Runtime {
    /// How many containers the member runs: `scale`, else `deploy.replicas`, else 1 (compose's
    /// `GetScale`).
    pub fn replicas(&self) -> u32 {
        self.scale.or(self.deploy.replicas).unwrap_or(1)
    }
}

/// Parses a byte size as the docker CLI and compose v2 do (go-units `RAMInBytes`): an integer is
/// bytes; a string is a decimal number, an optional space, and an optional binary unit
/// `k`/`m`/`g`/`t`/`p` optionally followed by `i` and/or `b`, case-insensitive (`512m`, `1GiB`,
/// `1.5g`, `1024 k`, `100b`). Fractions of a byte are truncated.
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let err = || format!("`{s}` is not a byte size: use forms like 512m, 1g, 1024k or 1048576");
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_end);
    // go-units' grammar: digits, then groups of `.digits`.
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.contains("..") {
        return Err(err());
    }
    let size: f64 = num.parse().map_err(|_| err())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut rest = unit.as_str();
    let mut mult: f64 = 1.0;
    if let Some(c) = rest.chars().next()
        && let Some(pos) = "kmgtp".find(c)
    {
        mult = 1024f64.powi(pos as i32 + 1);
        rest = &rest[1..];
    }
    rest = rest.strip_prefix('i').unwrap_or(rest);
    rest = rest.strip_prefix('b').unwrap_or(rest);
    if !rest.is_empty() {
        return Err(err());
    }
    let bytes = size * mult;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as i64)
}

/// Seconds of a stop grace period as compose v2 computes `StopTimeout` (truncated).
pub fn grace_seconds(d: &str) -> Option<i64> {
    super::parse_duration_ns(d)
        .ok()
        .map(|ns| ns / 1_000_000_000)
}

fn bool_of(w: &mut Walker, path: &str, v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        _ => {
            w.err(path, "must be true or false");
            None
        }
    }
}

fn int_of(w: &mut Walker, path: &str, v: &Value, min: i64, max: i64) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        // Interpolated values arrive as strings (`cpu_shares: ${SHARES}`).
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Null => return None,
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            w.err(path, format!("must be an integer from {min} to {max}"));
            None
        }
    }
}

fn bytes_of(w: &mut Walker, path: &str, v: &Value, allow_unlimited: bool) -> Option<i64> {
    let r = match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "must be a whole number of bytes".to_owned()),
        Value::String(s) if allow_unlimited && s.trim() == "-1" => Ok(-1),
        Value::String(s) => parse_bytes(s.trim()),
        Value::Null => return None,
        _ => Err("must be a byte size (512m, 1g) or a number of bytes".to_owned()),
    };
    match r {
        Ok(n) if n >= 0 || (allow_unlimited && n == -1) => Some(n),
        Ok(_) => {
            w.err(path, "must not be negative");
            None
        }
        Err(e) => {
            w.err(path, e);
            None
        }
    }
}

fn cpus_of(w: &mut Walker, path: &str, v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Null => return None,
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => Some(n),
        _ => {
            w.err(path, "must be a non-negative number of CPUs, e.g. 0.5");
            None
        }
    }
}

fn strings(w: &mut Walker, path: &str, v: &Value) -> Vec<String> {
    w.string_list(path, v).into_iter().map(|(_, s)| s).collect()
}

fn non_empty(w: &mut Walker, path: &str, v: &Value) -> Option<String> {
    let s = w.string(path, v)?;
    if s.is_empty() {
        w.err(path, "must not be empty");
        return None;
    }
    Some(s)
}

/// A namespace mode: one of `simple`, `container:NAME`, or — where compose allows it (`ipc`,
/// `pid`) — `service:NAME`, which joins that member's container and starts after it.
fn mode_of(
    w: &mut Walker,
    path: &str,
    v: &Value,
    simple: &[&str],
    service: bool,
) -> Option<String> {
    let s = w.string(path, v)?;
    if simple.contains(&s.as_str()) {
        return Some(s);
    }
    if let Some(name) = s.strip_prefix("container:")
        && !name.is_empty()
    {
        return Some(s);
    }
    if let Some(name) = s.strip_prefix("service:") {
        if service && !name.is_empty() {
            return Some(s);
        }
        if !service {
            w.err(
                path,
                "`service:NAME` is not a mode of this namespace (compose allows it for network_mode, ipc and pid)",
            );
            return None;
        }
    }
    w.err(
        path,
        format!("`{s}` is not supported: use {}", simple.join(", ")),
    );
    None
}

fn device_of(w: &mut Walker, path: &str, v: &Value) -> Option<Device> {
    let (source, target, permissions) = match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                [src] => (src.to_string(), src.to_string(), "rwm".to_owned()),
                [src, dst] => (src.to_string(), dst.to_string(), "rwm".to_owned()),
                [src, dst, perms] => (src.to_string(), dst.to_string(), perms.to_string()),
                _ => {
                    w.err(
                        path,
                        format!("`{s}` must be host[:container[:permissions]]"),
                    );
                    return None;
                }
            }
        }
        Value::Object(o) => {
            for k in o.keys() {
                if !matches!(k.as_str(), "source" | "target" | "permissions") {
                    w.err(
                        format!("{path}.{k}"),
                        "unknown device field; supported: source, target, permissions",
                    );
                }
            }
            let source = o
                .get("source")
                .and_then(|s| w.string(&format!("{path}.source"), s))
                .unwrap_or_default();
            let target = o
                .get("target")
                .and_then(|s| w.string(&format!("{path}.target"), s))
                .unwrap_or_else(|| source.clone());
            let permissions = o
                .get("permissions")
                .and_then(|s| w.string(&format!("{path}.permissions"), s))
                .unwrap_or_else(|| "rwm".to_owned());
            (source, target, permissions)
        }
        _ => {
            w.err(path, "must be a string or a map with source and target");
            return None;
        }
    };
    if !source.starts_with('/') {
        // compose v2 would pass a non-path on as a CDI device name (DeviceRequests, driver
        // `cdi`); this engine (API 1.41) has no CDI.
        w.err(
            path,
            format!("`{source}` must be an absolute host device path (CDI device names need Docker Engine API ≥ 1.44)"),
        );
        return None;
    }
    if !target.starts_with('/') {
        w.err(path, format!("`{target}` must be an absolute path"));
        return None;
    }
    if permissions.is_empty() || !permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        w.err(
            path,
            format!("`{permissions}` is not a permission set: use letters of rwm"),
        );
        return None;
    }
    Some(Device {
        source,
        target,
        permissions,
    })
}

fn ulimits_of(w: &mut Walker, path: &str, v: &Value) -> IndexMap<String, Ulimit> {
    let mut out = IndexMap::new();
    let Value::Object(map) = v else {
        w.err(path, "must be a map of name → number or {soft, hard}");
        return out;
    };
    for (name, spec) in map {
        let p = format!("{path}.{name}");
        let limit = match spec {
            Value::Object(o) => {
                for k in o.keys() {
                    if !matches!(k.as_str(), "soft" | "hard") {
                        w.err(
                            format!("{p}.{k}"),
                            "unknown ulimit field; use soft and hard",
                        );
                    }
                }
                let soft = o.get("soft").and_then(|s| {
                    int_of(w, &format!("{p}.soft"), s, i64::from(i32::MIN), i64::MAX)
                });
                let hard = o.get("hard").and_then(|s| {
                    int_of(w, &format!("{p}.hard"), s, i64::from(i32::MIN), i64::MAX)
                });
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                    _ => {
                        w.err(&p, "needs both soft and hard");
                        None
                    }
                }
            }
            other => int_of(w, &p, other, i64::from(i32::MIN), i64::MAX)
                .map(|n| Ulimit { soft: n, hard: n }),
        };
        if let Some(l) = limit {
            // The engine refuses this at create; say it here with the path.
            if l.hard >= 0 && l.soft > l.hard {
                w.err(&p, "the soft limit must not exceed the hard limit");
            }
            out.insert(name.clone(), l);
        }
    }
    out
}

fn logging_of(w: &mut Walker, path: &str, v: &Value) -> Option<Logging> {
    let Value::Object(o) = v else {
        w.err(path, "must be a map with driver and options");
        return None;
    };
    for k in o.keys() {
        if !matches!(k.as_str(), "driver" | "options") {
            w.err(
                format!("{path}.{k}"),
                "unknown logging field; supported: driver, options",
            );
        }
    }
    let driver = o
        .get("driver")
        .and_then(|d| non_empty(w, &format!("{path}.driver"), d));
    let options = match o.get("options") {
        None | Some(Value::Null) => IndexMap::new(),
        Some(Value::Object(_)) => o
            .get("options")
            .map(|v| w.key_values(&format!("{path}.options"), v))
            .unwrap_or_default(),
        Some(_) => {
            w.err(format!("{path}.options"), "must be a map");
            IndexMap::new()
        }
    };
    Some(Logging { driver, options })
}

/// Swarm-only `deploy` fields: a plain engine container has no equivalent, and compose v2 ignores
/// them outside Swarm, so accepting them would pretend.
const SWARM_ONLY: &[&str] = &[
    "placement",
    "update_config",
    "rollback_config",
    "endpoint_mode",
    "labels",
];

fn deploy_of(w: &mut Walker, path: &str, v: &Value, rt: &mut Runtime) {
    let Value::Object(o) = v else {
        if !v.is_null() {
            w.err(path, "must be a map");
        }
        return;
    };
    for (k, val) in o {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "resources" => resources_of(w, &p, val, rt),
            "restart_policy" => rt.deploy.restart_policy = restart_policy_of(w, &p, val),
            "replicas" => {
                rt.deploy.replicas = replicas_of(w, &p, val);
                if let (Some(scale), Some(replicas)) = (rt.scale, rt.deploy.replicas)
                    && scale != replicas
                {
                    // compose-go refuses it too ("can't set distinct values on 'scale' and
                    // 'deploy.replicas'"); docker-compose 1.29 refuses both set at all.
                    w.err(
                        p,
                        format!("is {replicas} but `scale` is {scale}: set one of them, or the same number in both"),
                    );
                }
            }
            "mode" => match val.as_str() {
                Some("replicated") => {}
                _ => w.err(
                    p,
                    "only `replicated` is supported: `global` is Swarm-only (one task per node)",
                ),
            },
            s if SWARM_ONLY.contains(&s) => w.err(
                p,
                format!("`deploy.{s}` is Swarm-only: a plain engine container has no equivalent (compose ignores it outside Swarm)"),
            ),
            _ => w.err(p, "unknown deploy field"),
        }
    }
}

fn restart_policy_of(w: &mut Walker, path: &str, v: &Value) -> Option<RestartPolicy> {
    let Value::Object(o) = v else {
        w.err(path, "must be a map");
        return None;
    };
    let mut max_attempts = None;
    let mut condition = "any".to_owned();
    for (k, val) in o {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "condition" => {
                if let Some(c) = w.string(&p, val) {
                    if matches!(
                        c.as_str(),
                        "none" | "no" | "on-failure" | "any" | "always" | "unless-stopped"
                    ) {
                        condition = c;
                    } else {
                        w.err(p, format!("`{c}` is not a condition: use none, on-failure or any"));
                    }
                }
            }
            "max_attempts" => max_attempts = int_of(w, &p, val, 0, i64::from(i32::MAX)),
            "delay" | "window" => w.err(
                p,
                format!("`{k}` is Swarm-only: the engine restarts with its own back-off and has no equivalent"),
            ),
            _ => w.err(p, "unknown restart_policy field"),
        }
    }
    // compose v2 defaults an absent condition to `any`: a policy named "" would be "no".
    Some(RestartPolicy {
        condition,
        max_attempts,
    })
}

fn resources_of(w: &mut Walker, path: &str, v: &Value, rt: &mut Runtime) {
    let Value::Object(o) = v else {
        w.err(path, "must be a map with limits and reservations");
        return;
    };
    for (k, val) in o {
        let p = format!("{path}.{k}");
        let Value::Object(r) = val else {
            w.err(&p, "must be a map");
            continue;
        };
        let limits = match k.as_str() {
            "limits" => true,
            "reservations" => false,
            _ => {
                w.err(
                    p,
                    "unknown resources field; supported: limits, reservations",
                );
                continue;
            }
        };
        for (rk, rv) in r {
            let rp = format!("{p}.{rk}");
            // compose v2 (setLimits/setReservations) applies these after the plain fields, so they
            // win; the folded value is what the container gets.
            match (limits, rk.as_str()) {
                (true, "cpus") => {
                    if let Some(c) = cpus_of(w, &rp, rv) {
                        rt.cpus = Some(c);
                    }
                }
                (true, "memory") => {
                    if let Some(b) = bytes_of(w, &rp, rv, false) {
                        rt.mem_limit = Some(b);
                    }
                }
                (true, "pids") => {
                    if let Some(n) = int_of(w, &rp, rv, -1, i64::MAX) {
                        rt.pids_limit = Some(n);
                    }
                }
                (false, "memory") => {
                    if let Some(b) = bytes_of(w, &rp, rv, false) {
                        rt.mem_reservation = Some(b);
                    }
                }
                (false, "cpus") => w.err(
                    rp,
                    "a CPU reservation is Swarm-only (scheduling); a single engine container has no equivalent (compose v2 ignores it) — use `cpu_shares` for a relative weight",
                ),
                (false, "pids") => w.err(rp, "pids is only a limit: use deploy.resources.limits.pids"),
                (_, "devices") => w.err(
                    rp,
                    "device requests (GPUs) are not supported: this engine has no GPU and SDMD cannot verify them",
                ),
                (_, "generic_resources") => {
                    w.err(rp, "generic_resources is Swarm-only")
                }
                _ => w.err(rp, "unknown resource field"),
            }
        }
    }
}

fn tmpfs_of(w: &mut Walker, path: &str, v: &Value) -> Vec<String> {
    let items = match v {
        Value::String(s) => vec![(path.to_owned(), s.clone())],
        Value::Array(_) => w.string_list(path, v),
        _ => {
            w.err(path, "must be a path or a list of paths");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (p, s) in items {
        let target = s.split_once(':').map_or(s.as_str(), |(t, _)| t);
        if !target.starts_with('/') {
            w.err(p, format!("`{target}` must be an absolute path"));
        } else {
            out.push(s);
        }
    }
    out
}

fn security_opts_of(w: &mut Walker, path: &str, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (p, opt) in w.string_list(path, v) {
        // compose v2's parseSecurityOpts: KEY=VALUE, KEY:VALUE, or the bare no-new-privileges.
        let kv = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        match kv {
            None if opt == "no-new-privileges" => out.push(opt),
            None => w.err(p, format!("`{opt}` must have the form KEY=VALUE or KEY:VALUE")),
            Some((k, v)) if k == "seccomp" && v != "unconfined" && v != "builtin" => w.err(
                p,
                "a seccomp profile file cannot be read: SDMD has no project directory (use seccomp=unconfined, or the engine's default)",
            ),
            Some(_) => out.push(opt),
        }
    }
    out
}

/// Reads the keys of [`KEYS`] from a member map.
pub(super) fn parse(w: &mut Walker, path: &str, map: &serde_json::Map<String, Value>) -> Runtime {
    let mut rt = Runtime::default();
    let p = |k: &str| format!("{path}.{k}");
    for (k, v) in map {
        let kp = p(k);
        match k.as_str() {
            "cap_add" => rt.cap_add = strings(w, &kp, v),
            "cap_drop" => rt.cap_drop = strings(w, &kp, v),
            "privileged" => rt.privileged = bool_of(w, &kp, v),
            "security_opt" => rt.security_opt = security_opts_of(w, &kp, v),
            "user" => rt.user = non_empty(w, &kp, v),
            "userns_mode" => rt.userns_mode = mode_of(w, &kp, v, &["host"], false),
            "group_add" => rt.group_add = strings(w, &kp, v),
            "read_only" => rt.read_only = bool_of(w, &kp, v),
            "devices" => {
                if let Value::Array(items) = v {
                    rt.devices = items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, d)| device_of(w, &format!("{kp}[{i}]"), d))
                        .collect();
                } else {
                    w.err(kp, "must be a list");
                }
            }
            "device_cgroup_rules" => rt.device_cgroup_rules = strings(w, &kp, v),
            "gpus" => w.err(
                kp,
                "GPUs are not supported: compose maps `gpus` to DeviceRequests, which this engine (no GPU, no NVIDIA runtime) cannot start and SDMD cannot verify",
            ),
            "cpus" => rt.cpus = cpus_of(w, &kp, v),
            "cpu_shares" => rt.cpu_shares = int_of(w, &kp, v, 0, 262_144),
            "cpu_quota" => rt.cpu_quota = int_of(w, &kp, v, -1, i64::MAX),
            "cpu_period" => rt.cpu_period = int_of(w, &kp, v, 0, 1_000_000),
            "cpuset" => rt.cpuset = non_empty(w, &kp, v),
            "cpu_rt_runtime" => rt.cpu_rt_runtime = int_of(w, &kp, v, -1, i64::MAX),
            "cpu_rt_period" => rt.cpu_rt_period = int_of(w, &kp, v, 0, i64::MAX),
            "mem_limit" => rt.mem_limit = bytes_of(w, &kp, v, false),
            "mem_reservation" => rt.mem_reservation = bytes_of(w, &kp, v, false),
            "memswap_limit" => rt.memswap_limit = bytes_of(w, &kp, v, true),
            "mem_swappiness" => rt.mem_swappiness = int_of(w, &kp, v, 0, 100),
            "pids_limit" => rt.pids_limit = int_of(w, &kp, v, -1, i64::MAX),
            "shm_size" => rt.shm_size = bytes_of(w, &kp, v, false),
            "ulimits" => rt.ulimits = ulimits_of(w, &kp, v),
            "sysctls" => rt.sysctls = w.key_values(&kp, v),
            "oom_kill_disable" => rt.oom_kill_disable = bool_of(w, &kp, v),
            "oom_score_adj" => rt.oom_score_adj = int_of(w, &kp, v, -1000, 1000),
            "blkio_config" => w.err(
                kp,
                "blkio_config is not supported (yet): this engine's blkio cgroup has no weight files (the engine discards weights with only a warning), so SDMD cannot verify the mapping",
            ),
            "deploy" => {}
            "scale" => rt.scale = replicas_of(w, &kp, v),
            "ipc" => {
                rt.ipc = mode_of(w, &kp, v, &["none", "private", "shareable", "host"], true)
            }
            "pid" => rt.pid = mode_of(w, &kp, v, &["host"], true),
            "uts" => rt.uts = mode_of(w, &kp, v, &["host"], false),
            "tty" => rt.tty = bool_of(w, &kp, v),
            "stdin_open" => rt.stdin_open = bool_of(w, &kp, v),
            "working_dir" => {
                rt.working_dir = non_empty(w, &kp, v).filter(|d| {
                    let abs = d.starts_with('/');
                    if !abs {
                        w.err(&kp, format!("`{d}` must be an absolute path"));
                    }
                    abs
                })
            }
            "stop_signal" => rt.stop_signal = non_empty(w, &kp, v),
            "stop_grace_period" => rt.stop_grace_period = w.duration(&kp, Some(v)),
            "tmpfs" => rt.tmpfs = tmpfs_of(w, &kp, v),
            "logging" => rt.logging = logging_of(w, &kp, v),
            "platform" => rt.platform = non_empty(w, &kp, v),
            "pull_policy" => {
                rt.pull_policy = w.string(&kp, v).and_then(|s| match s.as_str() {
                    "never" | "missing" | "always" => Some(s),
                    // compose v2 treats if_not_present as missing.
                    "if_not_present" => Some("missing".to_owned()),
                    "build" => {
                        w.err(&kp, "SDMD deploys images, it does not build them");
                        None
                    }
                    _ => {
                        w.err(
                            &kp,
                            format!("`{s}` is not supported: use always, never or missing (daily, weekly and every_<duration> need pull bookkeeping SDMD does not keep; use SDMD's update checks instead)"),
                        );
                        None
                    }
                })
            }
            "runtime" => rt.runtime = non_empty(w, &kp, v),
            "storage_opt" => rt.storage_opt = w.key_values(&kp, v),
            "cgroup" => {
                rt.cgroup = w.string(&kp, v).and_then(|s| match s.as_str() {
                    "host" | "private" => Some(s),
                    _ => {
                        w.err(&kp, format!("`{s}` is not a cgroup mode: use host or private"));
                        None
                    }
                })
            }
            "cgroup_parent" => rt.cgroup_parent = non_empty(w, &kp, v),
            "annotations" => rt.annotations = w.key_values(&kp, v),
            "post_start" => rt.post_start = hooks_of(w, &kp, v),
            "pre_stop" => rt.pre_stop = hooks_of(w, &kp, v),
            "volumes_from" => rt.volumes_from = volumes_from_of(w, &kp, v),
            _ => {}
        }
    }
    // Read last: compose v2 applies deploy.resources after mem_limit, cpus and pids_limit.
    if let Some(d) = map.get("deploy") {
        deploy_of(w, &p("deploy"), d, &mut rt);
    }
    rt
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(extra: Value) -> Result<Runtime, Vec<super::super::validate::Problem>> {
        let mut svc = json!({"image": "x"});
        if let (Value::Object(s), Value::Object(e)) = (&mut svc, extra) {
            s.extend(e);
        }
        super::super::parse(&json!({"name": "t", "services": {"m": svc}}))
            .map(|d| d.services["m"].runtime.clone())
    }

    fn refused(extra: Value, field: &str, word: &str) {
        let err = member(extra).expect_err("refused");
        assert!(
            err.iter()
                .any(|p| p.field == field && p.message.contains(word)),
            "{err:?}"
        );
    }

    #[test]
    fn byte_sizes_follow_go_units() {
        assert_eq!(parse_bytes("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("1gb"), Ok(1 << 30));
        assert_eq!(parse_bytes("1024k"), Ok(1 << 20));
        assert_eq!(parse_bytes("1024 k"), Ok(1 << 20));
        assert_eq!(parse_bytes("1.5k"), Ok(1536));
        assert_eq!(parse_bytes("100b"), Ok(100));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert_eq!(parse_bytes("2t"), Ok(2 << 40));
        for bad in ["", "m", "1x", "1.2.3", "-1", "1  k", "1kk", ".5m", "1mbb"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_privileges_and_process() {
        let rt = member(json!({
            "cap_add": ["NET_ADMIN"], "cap_drop": ["ALL"], "privileged": false,
            "security_opt": ["no-new-privileges:true", "apparmor=unconfined"],
            "user": 1000, "group_add": ["100", "audio"], "read_only": true,
            "devices": ["/dev/null", "/dev/null:/dev/xnull", "/dev/zero:/dev/z:r",
                        {"source": "/dev/random", "target": "/dev/r"}],
            "ipc": "host", "pid": "host", "tty": true, "stdin_open": true,
            "working_dir": "/srv", "stop_signal": "SIGINT", "stop_grace_period": "1m30s",
            "tmpfs": "/run", "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}},
            "pull_policy": "if_not_present", "cgroup": "private",
        }))
        .expect("valid");
        assert_eq!(rt.user.as_deref(), Some("1000"));
        assert_eq!(rt.devices.len(), 4);
        assert_eq!(rt.devices[0].target, "/dev/null");
        assert_eq!(rt.devices[1].permissions, "rwm");
        assert_eq!(rt.devices[2].permissions, "r");
        assert_eq!(rt.devices[3].target, "/dev/r");
        assert_eq!(rt.tmpfs, vec!["/run".to_string()]);
        assert_eq!(rt.pull_policy.as_deref(), Some("missing"));
        assert_eq!(
            grace_seconds(rt.stop_grace_period.as_deref().unwrap_or("")),
            Some(90)
        );
        let log = rt.logging.expect("logging");
        assert_eq!(log.options["max-file"], "3");
    }

    #[test]
    fn scale_and_replicas_count_containers() {
        assert_eq!(member(json!({})).expect("valid").replicas(), 1);
        assert_eq!(member(json!({"scale": 3})).expect("valid").replicas(), 3);
        assert_eq!(member(json!({"scale": 0})).expect("valid").replicas(), 0);
        let rt = member(json!({"deploy": {"replicas": "2"}})).expect("valid");
        assert_eq!((rt.scale, rt.replicas()), (None, 2));
        // The same number in both is what compose-go accepts.
        let rt = member(json!({"deploy": {"replicas": 2}, "scale": 2})).expect("valid");
        assert_eq!(rt.replicas(), 2);
    }

    #[test]
    fn parses_resources_and_folds_deploy() {
        let rt = member(json!({
            "cpus": "0.5", "mem_limit": "64m", "mem_reservation": 1048576, "memswap_limit": -1,
            "pids_limit": 10, "shm_size": "1g",
            "ulimits": {"nofile": 65535, "nproc": {"soft": 10, "hard": 20}},
            "sysctls": ["net.core.somaxconn=1024"],
            "deploy": {"replicas": 1, "resources": {"limits": {"cpus": "1.5", "memory": "128M", "pids": 50},
                        "reservations": {"memory": "32m"}},
                       "restart_policy": {"condition": "on-failure", "max_attempts": 3}},
        }))
        .expect("valid");
        assert_eq!(rt.cpus, Some(1.5));
        assert_eq!((rt.deploy.replicas, rt.replicas()), (Some(1), 1));
        assert_eq!(rt.mem_limit, Some(128 << 20));
        assert_eq!(rt.mem_reservation, Some(32 << 20));
        assert_eq!(rt.memswap_limit, Some(-1));
        assert_eq!(rt.pids_limit, Some(50));
        assert_eq!(rt.shm_size, Some(1 << 30));
        assert_eq!(
            rt.ulimits["nofile"],
            Ulimit {
                soft: 65535,
                hard: 65535
            }
        );
        assert_eq!(rt.ulimits["nproc"], Ulimit { soft: 10, hard: 20 });
        assert_eq!(rt.sysctls["net.core.somaxconn"], "1024");
        assert_eq!(
            rt.deploy.restart_policy,
            Some(RestartPolicy {
                condition: "on-failure".into(),
                max_attempts: Some(3)
            })
        );
    }

    #[test]
    fn annotations_need_api_1_43() {
        let def = super::super::parse(&json!({"name": "t", "services": {"m": {
            "image": "x", "annotations": {"com.example.trace": "on"}
        }}}))
        .expect("valid");
        assert_eq!(
            def.services["m"].runtime.annotations["com.example.trace"],
            "on"
        );
        assert_eq!(
            def.engine_requirements(),
            vec![("services.m.annotations".to_string(), "1.43")]
        );
    }

    #[test]
    fn hooks_parse_like_compose() {
        let rt = member(json!({
            "pull_policy": "always",
            "post_start": [
                {"command": "sh -c 'echo started > /tmp/x'", "user": "root", "privileged": true,
                 "working_dir": "/tmp", "environment": ["A=1"]},
                {"command": ["touch", "/tmp/y"], "environment": {"B": "2"}}
            ],
            "pre_stop": [{"command": "sync"}]
        }))
        .expect("valid");
        assert_eq!(rt.pull_policy.as_deref(), Some("always"));
        assert_eq!(rt.post_start.len(), 2);
        assert_eq!(
            rt.post_start[0].command,
            ["sh", "-c", "echo started > /tmp/x"]
        );
        assert_eq!(rt.post_start[0].user.as_deref(), Some("root"));
        assert!(rt.post_start[0].privileged);
        assert_eq!(rt.post_start[0].environment["A"], "1");
        assert_eq!(rt.post_start[1].environment["B"], "2");
        assert_eq!(rt.pre_stop[0].command, ["sync"]);
        let again = member(serde_json::to_value(&rt).expect("json")).expect("valid again");
        assert_eq!(rt, again);
    }

    #[test]
    fn canonical_form_parses_back_identically() {
        let rt = member(json!({
            "devices": ["/dev/null:/dev/xnull"], "mem_limit": "64m", "cpus": 0.25,
            "ulimits": {"nofile": 1024}, "logging": {"driver": "local"},
            "deploy": {"restart_policy": {"condition": "any"}}
        }))
        .expect("valid");
        let again = member(serde_json::to_value(&rt).expect("json")).expect("valid again");
        assert_eq!(rt, again);
    }

    #[test]
    fn refuses_with_reasons() {
        let m = "services.m";
        refused(
            json!({"gpus": "all"}),
            &format!("{m}.gpus"),
            "DeviceRequests",
        );
        refused(
            json!({"post_start": [{"command": []}]}),
            &format!("{m}.post_start[0].command"),
            "required",
        );
        refused(
            json!({"pre_stop": [{"command": "x", "detach": true}]}),
            &format!("{m}.pre_stop[0].detach"),
            "hook attribute",
        );
        refused(
            json!({"mem_limit": "12x"}),
            &format!("{m}.mem_limit"),
            "byte size",
        );
        refused(
            json!({"devices": ["nvidia.com/gpu=all"]}),
            &format!("{m}.devices[0]"),
            "CDI",
        );
        refused(
            json!({"devices": ["/dev/a:/dev/b:rx"]}),
            &format!("{m}.devices[0]"),
            "rwm",
        );
        refused(
            json!({"ulimits": {"nofile": {"soft": 3, "hard": 2}}}),
            &format!("{m}.ulimits.nofile"),
            "soft",
        );
        refused(
            json!({"ulimits": {"nofile": {"soft": 3}}}),
            &format!("{m}.ulimits.nofile"),
            "both",
        );
        refused(
            json!({"oom_score_adj": 2000}),
            &format!("{m}.oom_score_adj"),
            "-1000",
        );
        refused(
            json!({"uts": "service:db"}),
            &format!("{m}.uts"),
            "service:",
        );
        refused(
            json!({"volumes_from": ["service:db:z"]}),
            &format!("{m}.volumes_from[0]"),
            "ro or rw",
        );
        refused(
            json!({"volumes_from": ["a:b:c:d"]}),
            &format!("{m}.volumes_from[0]"),
            "NAME",
        );
        refused(
            json!({"pull_policy": "build"}),
            &format!("{m}.pull_policy"),
            "build",
        );
        refused(
            json!({"pull_policy": "daily"}),
            &format!("{m}.pull_policy"),
            "daily",
        );
        refused(
            json!({"tmpfs": ["run"]}),
            &format!("{m}.tmpfs[0]"),
            "absolute",
        );
        refused(
            json!({"security_opt": ["seccomp=/x.json"]}),
            &format!("{m}.security_opt[0]"),
            "project directory",
        );
        refused(
            json!({"scale": 2, "deploy": {"replicas": 3}}),
            &format!("{m}.deploy.replicas"),
            "`scale` is 2",
        );
        refused(json!({"scale": -1}), &format!("{m}.scale"), "0 to 1000");
        refused(
            json!({"deploy": {"replicas": 1001}}),
            &format!("{m}.deploy.replicas"),
            "0 to 1000",
        );
        refused(
            json!({"deploy": {"mode": "global"}}),
            &format!("{m}.deploy.mode"),
            "Swarm-only",
        );
        refused(
            json!({"deploy": {"placement": {}}}),
            &format!("{m}.deploy.placement"),
            "Swarm-only",
        );
        refused(
            json!({"deploy": {"resources": {"reservations": {"cpus": "1"}}}}),
            &format!("{m}.deploy.resources.reservations.cpus"),
            "Swarm-only",
        );
        refused(
            json!({"deploy": {"restart_policy": {"delay": "5s"}}}),
            &format!("{m}.deploy.restart_policy.delay"),
            "Swarm-only",
        );
        refused(
            json!({"cgroup": "x"}),
            &format!("{m}.cgroup"),
            "host or private",
        );
        refused(
            json!({"working_dir": "rel"}),
            &format!("{m}.working_dir"),
            "absolute",
        );
        refused(
            json!({"logging": {"driver": "local", "opts": {}}}),
            &format!("{m}.logging.opts"),
            "unknown",
        );
    }
}
