//! Maps a member's [`Runtime`] onto the create body (and reads it back from inspect), as compose
//! v2's `getCreateConfigs`/`getDeployResources` do.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, DeviceMapping, HostConfig,
    HostConfigCgroupnsModeEnum, HostConfigLogConfig, ImageInspect, ResourcesUlimits,
    RestartPolicy as EngineRestart, RestartPolicyNameEnum,
};
use indexmap::IndexMap;

use crate::docker::adopt::LostSetting;
use crate::spec::runtime::{Device, Logging, Runtime, Ulimit, grace_seconds};

/// The engine's `/dev/shm` size when none is asked for.
const DEFAULT_SHM: i64 = 64 * 1024 * 1024;

fn list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn map(v: &IndexMap<String, String>) -> Option<HashMap<String, String>> {
    (!v.is_empty()).then(|| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// NanoCPUs of a CPU count, rounded to the nanoCPU (the docker CLI parses `--cpus` exactly;
/// rounding keeps `0.3` at 300000000 rather than a float's 299999999).
fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

fn restart(p: &crate::spec::runtime::RestartPolicy) -> EngineRestart {
    // compose v2's mapRestartPolicyCondition.
    let name = match p.condition.as_str() {
        "none" | "no" => RestartPolicyNameEnum::NO,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        _ => RestartPolicyNameEnum::ALWAYS,
    };
    EngineRestart {
        name: Some(name),
        maximum_retry_count: p.max_attempts,
    }
}

/// Applies a member's runtime settings to `body`.
pub(crate) fn apply(rt: &Runtime, body: &mut ContainerCreateBody) {
    body.user = rt.user.clone();
    body.working_dir = rt.working_dir.clone();
    body.stop_signal = rt.stop_signal.clone();
    // compose v2 sets StopTimeout from stop_grace_period (1.29 only used it when stopping).
    body.stop_timeout = rt.stop_grace_period.as_deref().and_then(grace_seconds);
    body.tty = rt.tty;
    body.open_stdin = rt.stdin_open;
    let h = body.host_config.get_or_insert_with(HostConfig::default);
    h.cap_add = list(&rt.cap_add);
    h.cap_drop = list(&rt.cap_drop);
    h.privileged = rt.privileged;
    h.security_opt = list(&rt.security_opt);
    h.userns_mode = rt.userns_mode.clone();
    h.group_add = list(&rt.group_add);
    h.readonly_rootfs = rt.read_only;
    h.devices = (!rt.devices.is_empty()).then(|| {
        rt.devices
            .iter()
            .map(|d| DeviceMapping {
                path_on_host: Some(d.source.clone()),
                path_in_container: Some(d.target.clone()),
                cgroup_permissions: Some(d.permissions.clone()),
            })
            .collect()
    });
    h.device_cgroup_rules = list(&rt.device_cgroup_rules);
    h.nano_cpus = rt.cpus.map(nano_cpus);
    h.cpu_shares = rt.cpu_shares;
    h.cpu_quota = rt.cpu_quota;
    h.cpu_period = rt.cpu_period;
    h.cpuset_cpus = rt.cpuset.clone();
    h.cpu_realtime_runtime = rt.cpu_rt_runtime;
    h.cpu_realtime_period = rt.cpu_rt_period;
    h.memory = rt.mem_limit;
    h.memory_reservation = rt.mem_reservation;
    h.memory_swap = rt.memswap_limit;
    h.memory_swappiness = rt.mem_swappiness;
    h.pids_limit = rt.pids_limit;
    h.shm_size = rt.shm_size;
    h.ulimits = (!rt.ulimits.is_empty()).then(|| {
        rt.ulimits
            .iter()
            .map(|(name, l)| ResourcesUlimits {
                name: Some(name.clone()),
                soft: Some(l.soft),
                hard: Some(l.hard),
            })
            .collect()
    });
    h.sysctls = map(&rt.sysctls);
    h.oom_kill_disable = rt.oom_kill_disable;
    h.oom_score_adj = rt.oom_score_adj;
    h.ipc_mode = rt.ipc.clone();
    h.pid_mode = rt.pid.clone();
    h.uts_mode = rt.uts.clone();
    h.tmpfs = (!rt.tmpfs.is_empty()).then(|| {
        rt.tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_owned(), opts.to_owned()),
                None => (t.clone(), String::new()),
            })
            .collect()
    });
    h.log_config = rt.logging.as_ref().map(|l| HostConfigLogConfig {
        typ: l.driver.clone(),
        config: map(&l.options),
    });
    h.runtime = rt.runtime.clone();
    h.storage_opt = map(&rt.storage_opt);
    h.annotations = map(&rt.annotations);
    h.cgroupns_mode = rt.cgroup.as_deref().map(|c| match c {
        "host" => HostConfigCgroupnsModeEnum::HOST,
        _ => HostConfigCgroupnsModeEnum::PRIVATE,
    });
    h.cgroup_parent = rt.cgroup_parent.clone();
    if rt
        .security_opt
        .iter()
        .any(|o| o == "systempaths=unconfined")
    {
        // compose v2 strips this option and clears the masked/read-only paths instead.
        h.security_opt = list(
            &rt.security_opt
                .iter()
                .filter(|o| *o != "systempaths=unconfined")
                .cloned()
                .collect::<Vec<_>>(),
        );
        h.masked_paths = Some(Vec::new());
        h.readonly_paths = Some(Vec::new());
    }
    if let Some(p) = &rt.deploy.restart_policy {
        h.restart_policy = Some(restart(p));
    }
}

fn some_str(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn positive(n: Option<i64>) -> Option<i64> {
    n.filter(|n| *n > 0)
}

fn index(m: Option<HashMap<String, String>>) -> IndexMap<String, String> {
    let mut v: Vec<(String, String)> = m.unwrap_or_default().into_iter().collect();
    v.sort();
    v.into_iter().collect()
}

/// The runtime settings of an existing container, minus the engine's and the image's defaults.
pub(crate) fn adopt(c: &ContainerInspectResponse, image: Option<&ImageInspect>) -> Runtime {
    let config = c.config.clone().unwrap_or_default();
    let h = c.host_config.clone().unwrap_or_default();
    let img = image.and_then(|i| i.config.clone()).unwrap_or_default();
    let image_user = img.user.unwrap_or_default();
    let image_dir = img.working_dir.unwrap_or_default();
    let image_signal = some_str(img.stop_signal).unwrap_or_else(|| "SIGTERM".into());
    let memory = positive(h.memory);
    let mut security_opt = h.security_opt.clone().unwrap_or_default();
    // The docker CLI and compose v2 turn this option into empty path lists; it reads back so.
    if systempaths_unconfined(&h) && !security_opt.iter().any(|o| o == "systempaths=unconfined") {
        security_opt.push("systempaths=unconfined".into());
    }
    Runtime {
        cap_add: h.cap_add.unwrap_or_default(),
        cap_drop: h.cap_drop.unwrap_or_default(),
        privileged: h.privileged.filter(|p| *p),
        security_opt,
        user: config.user.filter(|u| !u.is_empty() && *u != image_user),
        userns_mode: some_str(h.userns_mode),
        group_add: h.group_add.unwrap_or_default(),
        read_only: h.readonly_rootfs.filter(|r| *r),
        devices: h
            .devices
            .unwrap_or_default()
            .into_iter()
            .map(|d| {
                let source = d.path_on_host.unwrap_or_default();
                Device {
                    target: some_str(d.path_in_container).unwrap_or_else(|| source.clone()),
                    source,
                    permissions: some_str(d.cgroup_permissions).unwrap_or_else(|| "rwm".into()),
                }
            })
            .collect(),
        device_cgroup_rules: h.device_cgroup_rules.unwrap_or_default(),
        cpus: positive(h.nano_cpus).map(|n| n as f64 / 1e9),
        cpu_shares: positive(h.cpu_shares),
        cpu_quota: positive(h.cpu_quota),
        cpu_period: positive(h.cpu_period),
        cpuset: some_str(h.cpuset_cpus),
        cpu_rt_runtime: positive(h.cpu_realtime_runtime),
        cpu_rt_period: positive(h.cpu_realtime_period),
        mem_limit: memory,
        mem_reservation: positive(h.memory_reservation),
        // With a memory limit and no swap limit the engine sets swap to twice the memory.
        memswap_limit: h.memory_swap.filter(|s| {
            *s != 0 && Some(*s) != memory.map(|m| m * 2) && !(*s == -1 && memory.is_none())
        }),
        mem_swappiness: h.memory_swappiness.filter(|s| *s >= 0),
        pids_limit: positive(h.pids_limit),
        shm_size: h.shm_size.filter(|s| *s > 0 && *s != DEFAULT_SHM),
        ulimits: h
            .ulimits
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u| {
                Some((
                    u.name?,
                    Ulimit {
                        soft: u.soft.unwrap_or_default(),
                        hard: u.hard.unwrap_or_default(),
                    },
                ))
            })
            .collect(),
        sysctls: index(h.sysctls),
        oom_kill_disable: h.oom_kill_disable.filter(|o| *o),
        oom_score_adj: h.oom_score_adj.filter(|o| *o != 0),
        deploy: Default::default(),
        scale: None,
        // `private` is the daemon's default since Docker 19.03 (`shareable` before, or when
        // configured so): an explicit `shareable` is kept.
        ipc: some_str(h.ipc_mode).filter(|m| m != "private"),
        pid: some_str(h.pid_mode),
        uts: some_str(h.uts_mode),
        tty: config.tty.filter(|t| *t),
        stdin_open: config.open_stdin.filter(|t| *t),
        working_dir: config
            .working_dir
            .filter(|d| !d.is_empty() && *d != image_dir),
        stop_signal: config
            .stop_signal
            .filter(|s| !s.is_empty() && *s != image_signal),
        // Absent unless chosen at create (`--stop-timeout`, compose v2's stop_grace_period): an
        // explicit 10 is kept, so the container keeps reporting it.
        stop_grace_period: config
            .stop_timeout
            .filter(|t| *t >= 0)
            .map(|t| format!("{t}s")),
        tmpfs: {
            let mut t: Vec<String> = h
                .tmpfs
                .unwrap_or_default()
                .into_iter()
                .map(|(p, o)| if o.is_empty() { p } else { format!("{p}:{o}") })
                .collect();
            t.sort();
            t
        },
        logging: h.log_config.and_then(|l| {
            let driver = some_str(l.typ);
            let options = index(l.config);
            // json-file without options is the engine's default.
            let default = options.is_empty() && driver.as_deref().is_none_or(|d| d == "json-file");
            (!default).then_some(Logging { driver, options })
        }),
        platform: None,
        pull_policy: None,
        // Hooks are compose's, not the container's: inspect cannot show them (a compose
        // project's own file, when adopt can read it, keeps them).
        post_start: Vec::new(),
        pre_stop: Vec::new(),
        runtime: some_str(h.runtime).filter(|r| r != "runc"),
        storage_opt: index(h.storage_opt),
        annotations: index(h.annotations),
        // The engine's default depends on the cgroup version: `host` on v1 (this engine).
        cgroup: h.cgroupns_mode.and_then(|m| match m {
            HostConfigCgroupnsModeEnum::PRIVATE => Some("private".to_owned()),
            _ => None,
        }),
        cgroup_parent: some_str(h.cgroup_parent),
        // `<id or name>[:mode]`: the caller names containers (ids change on every recreate).
        volumes_from: h
            .volumes_from
            .unwrap_or_default()
            .into_iter()
            .map(|v| format!("container:{v}"))
            .collect(),
    }
}

/// The paths the engine masks (`HostConfig.MaskedPaths`) and makes read-only (`ReadonlyPaths`)
/// in a container it creates without `systempaths=unconfined`, across engine versions (moby's
/// `oci.DefaultSpec`): a list within these is the engine's default, not a choice.
const DEFAULT_MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const DEFAULT_READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Whether the container was created with `security_opt: systempaths=unconfined` (the engine
/// then records empty masked and read-only path lists; a privileged container has none at all).
fn systempaths_unconfined(h: &HostConfig) -> bool {
    h.privileged != Some(true)
        && h.masked_paths.as_ref().is_some_and(Vec::is_empty)
        && h.readonly_paths.as_ref().is_some_and(Vec::is_empty)
}

/// The settings of an existing container that [`Runtime`] (and SDMD) cannot express: adopting
/// the container would lose them. Together with [`adopt`], the network and mount readers and
/// `docker::adopt`, every field of `Config` and `HostConfig` is either read back, listed here, or
/// a value the engine or the client derives (documented in `docs/service-format.md`).
pub fn unexpressible(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
) -> Vec<LostSetting> {
    let mut out = Vec::new();
    let h = c.host_config.clone().unwrap_or_default();
    let config = c.config.clone().unwrap_or_default();
    let mut push = |field: &str, value: String, why: &str| {
        out.push(LostSetting::new(field, value, why));
    };
    const WINDOWS: &str = "a Windows-only resource setting: a definition for Linux cannot carry it";
    const BLKIO: &str =
        "blkio_config is not supported yet (this engine's blkio cgroup cannot verify the mapping)";
    for (field, v, why) in [
        ("HostConfig.CpuCount", h.cpu_count, WINDOWS),
        ("HostConfig.CpuPercent", h.cpu_percent, WINDOWS),
        ("HostConfig.IOMaximumIOps", h.io_maximum_iops, WINDOWS),
        (
            "HostConfig.IOMaximumBandwidth",
            h.io_maximum_bandwidth,
            WINDOWS,
        ),
        (
            "HostConfig.BlkioWeight",
            h.blkio_weight.map(i64::from),
            BLKIO,
        ),
    ] {
        if let Some(v) = v.filter(|v| *v != 0) {
            push(field, v.to_string(), why);
        }
    }
    for (field, shown, why) in [
        (
            "HostConfig.BlkioWeightDevice",
            h.blkio_weight_device
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            BLKIO,
        ),
        (
            "HostConfig.BlkioDeviceReadBps",
            h.blkio_device_read_bps
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            BLKIO,
        ),
        (
            "HostConfig.BlkioDeviceWriteBps",
            h.blkio_device_write_bps
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            BLKIO,
        ),
        (
            "HostConfig.BlkioDeviceReadIOps",
            h.blkio_device_read_iops
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            BLKIO,
        ),
        (
            "HostConfig.BlkioDeviceWriteIOps",
            h.blkio_device_write_iops
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            BLKIO,
        ),
        (
            "HostConfig.DeviceRequests",
            h.device_requests
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(json),
            "device requests (`--gpus`, `gpus`, `deploy.resources.reservations.devices`) are not supported: SDMD cannot verify them on an engine without GPUs",
        ),
        (
            "HostConfig.Annotations",
            h.annotations.as_ref().filter(|v| !v.is_empty()).map(json),
            "annotations need Engine API 1.43; SDMD targets 1.41, which would drop them",
        ),
    ] {
        if let Some(shown) = shown {
            push(field, shown, why);
        }
    }
    for (field, v, why) in [
        (
            "HostConfig.CpusetMems",
            some_str(h.cpuset_mems.clone()),
            "memory nodes (`--cpuset-mems`) have no compose attribute",
        ),
        (
            "HostConfig.VolumeDriver",
            some_str(h.volume_driver.clone()),
            "a default driver for the container's new volumes (`--volume-driver`) has no compose attribute (declare volumes with `driver`)",
        ),
        (
            "HostConfig.Cgroup",
            some_str(h.cgroup.clone()),
            "joining another container's cgroup has no compose attribute",
        ),
        (
            "HostConfig.Isolation",
            some_str(h.isolation.as_ref().map(|i| i.to_string())).filter(|i| i != "default"),
            "isolation is Windows-only",
        ),
        (
            "HostConfig.ContainerIDFile",
            some_str(h.container_id_file.clone()),
            "the docker CLI wrote the container's id to this file (`--cidfile`); containers SDMD creates do not update it",
        ),
    ] {
        if let Some(v) = v {
            push(field, v, why);
        }
    }
    for (field, on, why) in [
        (
            "HostConfig.AutoRemove",
            h.auto_remove == Some(true),
            "`--rm` has no compose attribute: SDMD keeps a member's container when it exits",
        ),
        (
            "HostConfig.PublishAllPorts",
            h.publish_all_ports == Some(true),
            "`-P` publishes every exposed port on an engine-chosen port; a definition lists its ports",
        ),
        (
            "Config.StdinOnce",
            config.stdin_once == Some(true),
            "closing stdin after the first attach has no compose attribute",
        ),
        (
            "Config.NetworkDisabled",
            config.network_disabled == Some(true),
            "no compose attribute (the nearest is `network_mode: none`)",
        ),
    ] {
        if on {
            push(field, "true".into(), why);
        }
    }
    if let Some(l) = h.links.as_ref().filter(|l| !l.is_empty()) {
        push(
            "HostConfig.Links",
            l.join(","),
            "legacy links on the default bridge network have no equivalent in a definition (links work between members on the service's networks)",
        );
    }
    if !systempaths_unconfined(&h) {
        for (field, paths, defaults) in [
            ("HostConfig.MaskedPaths", &h.masked_paths, DEFAULT_MASKED),
            (
                "HostConfig.ReadonlyPaths",
                &h.readonly_paths,
                DEFAULT_READONLY,
            ),
        ] {
            let custom: Vec<&String> = paths
                .iter()
                .flatten()
                .filter(|p| !defaults.contains(&p.as_str()))
                .collect();
            if !custom.is_empty() {
                push(
                    field,
                    json(paths),
                    "a list of masked or read-only paths other than the engine's: compose can only clear them (`security_opt: systempaths=unconfined`)",
                );
            }
        }
    }
    let image_shell = image
        .and_then(|i| i.config.as_ref())
        .and_then(|c| c.shell.clone())
        .unwrap_or_default();
    if let Some(s) = config
        .shell
        .as_ref()
        .filter(|s| !s.is_empty() && **s != image_shell)
    {
        push(
            "Config.Shell",
            json(s),
            "a SHELL other than the image's has no compose attribute",
        );
    }
    out
}

/// An inspect value as JSON (for [`LostSetting::value`]).
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn runtime(v: serde_json::Value) -> Runtime {
        let mut svc = json!({"image": "x"});
        if let (serde_json::Value::Object(s), serde_json::Value::Object(e)) = (&mut svc, v) {
            s.extend(e);
        }
        crate::spec::parse(&json!({"name": "t", "services": {"m": svc}}))
            .expect("valid")
            .services["m"]
            .runtime
            .clone()
    }

    #[test]
    fn applies_as_compose_v2() {
        let rt = runtime(json!({
            "cap_add": ["NET_ADMIN"], "user": "1000:1000", "read_only": true,
            "tmpfs": ["/run:size=1m", "/tmp"], "mem_limit": "64m", "cpus": 0.5,
            "pids_limit": 100, "shm_size": "128m",
            "ulimits": {"nofile": 65535}, "sysctls": {"net.core.somaxconn": 1024},
            "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
            "stop_signal": "SIGINT", "stop_grace_period": "3500ms",
            "devices": ["/dev/null:/dev/xnull"], "cgroup": "private",
            "security_opt": ["systempaths=unconfined", "no-new-privileges:true"],
            "deploy": {"restart_policy": {"condition": "on-failure", "max_attempts": 2}},
        }));
        let mut body = ContainerCreateBody::default();
        apply(&rt, &mut body);
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        assert_eq!(body.stop_timeout, Some(3));
        let h = body.host_config.expect("host config");
        assert_eq!(h.memory, Some(64 << 20));
        assert_eq!(h.nano_cpus, Some(500_000_000));
        assert_eq!(h.shm_size, Some(128 << 20));
        assert_eq!(h.readonly_rootfs, Some(true));
        let tmpfs = h.tmpfs.expect("tmpfs");
        assert_eq!(tmpfs["/run"], "size=1m");
        assert_eq!(tmpfs["/tmp"], "");
        let u = &h.ulimits.expect("ulimits")[0];
        assert_eq!((u.soft, u.hard), (Some(65535), Some(65535)));
        let d = &h.devices.expect("devices")[0];
        assert_eq!(d.cgroup_permissions.as_deref(), Some("rwm"));
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        assert_eq!(
            h.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(h.masked_paths, Some(Vec::new()));
        assert_eq!(
            h.restart_policy.and_then(|r| r.maximum_retry_count),
            Some(2)
        );
        assert_eq!(nano_cpus(0.3), 300_000_000);
    }

    #[test]
    fn adopt_drops_engine_and_image_defaults() {
        let c: ContainerInspectResponse = serde_json::from_value(json!({
            "Config": {"User": "app", "WorkingDir": "/srv", "StopSignal": "SIGTERM", "Tty": false},
            "HostConfig": {"ShmSize": 67108864, "IpcMode": "private", "CgroupnsMode": "host",
                           "LogConfig": {"Type": "json-file", "Config": {}}, "Runtime": "runc",
                           "Memory": 1048576, "MemorySwap": 2097152, "OomScoreAdj": 0,
                           "CpuCount": 2}
        }))
        .expect("inspect");
        let img: ImageInspect = serde_json::from_value(json!({
            "Config": {"User": "app", "WorkingDir": "/srv"}
        }))
        .expect("image");
        let rt = adopt(&c, Some(&img));
        assert_eq!(
            rt,
            Runtime {
                mem_limit: Some(1048576),
                ..Default::default()
            }
        );
        let lost = unexpressible(&c, Some(&img));
        assert_eq!(
            lost.iter()
                .map(|l| (l.field.as_str(), l.value.as_str()))
                .collect::<Vec<_>>(),
            vec![("HostConfig.CpuCount", "2")]
        );
    }
}
