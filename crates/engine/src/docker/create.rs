//! Turns a member of a stored definition into the engine's create-container body. Attribute
//! groups have their own modules (`network`, `runtime`), each with `apply` and `adopt`.

pub(crate) mod network;
pub(crate) mod runtime;

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, Mount as EngineMount, MountBindOptions,
    MountTmpfsOptions, MountType, MountVolumeOptions, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};

use super::labels;
use crate::spec::objects::{Delivery, FileRef, Kind};
use crate::spec::volumes::VolumeKind;
use crate::spec::{Definition, LongVolume, Mount, Restart, VolumeEntry, parse_duration_ns};

/// The create body for `member` of `def` at `revision`. The definition was validated when stored,
/// so entries that fail to parse here are skipped rather than invented.
///
/// `carried` are the (container path, volume name) volume mounts of the container this one
/// replaces. As docker compose does on a recreate, an anonymous volume of the old container is
/// mounted again by name where the member still has an anonymous volume, or does not mount
/// anything at that path (an image `VOLUME`), so its data survives the recreate.
///
/// `peers` are the container ids of members already created (for `network_mode: service:X`).
pub fn container_body(
    def: &Definition,
    member: &str,
    revision: i32,
    carried: &[(String, String)],
    peers: &HashMap<String, String>,
) -> Option<ContainerCreateBody> {
    let m = def.services.get(member)?;
    let mut volumes = member_mounts(def, m);
    volumes.carry(def, m, carried);
    // Secrets and configs from files are bind-mounted read-only, as docker compose does; the
    // others are copied in before start (see `copied_files`).
    volumes.mounts.extend(file_mounts(def, m));
    let Mounts {
        binds,
        mounts,
        anonymous,
    } = volumes;
    let (exposed, port_bindings) = ports(m);
    let mut body = ContainerCreateBody {
        image: Some(m.image.clone()),
        env: (!m.environment.is_empty()).then(|| {
            m.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        }),
        cmd: m.command.clone(),
        entrypoint: m.entrypoint.clone(),
        labels: Some(member_labels(def, member, revision)),
        healthcheck: m.healthcheck.as_ref().map(health_config),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        volumes: (!anonymous.is_empty()).then_some(anonymous),
        host_config: Some(HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            mounts: (!mounts.is_empty()).then_some(mounts),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            restart_policy: m
                .restart
                .as_deref()
                .and_then(|r| Restart::parse(r).ok())
                .map(restart_policy),
            init: m.init,
            ..Default::default()
        }),
        ..Default::default()
    };
    network::apply(def, member, peers, &mut body);
    runtime::apply(&m.runtime, &mut body);
    join_members(def, &m.runtime, peers, &mut body);
    Some(body)
}

/// The member's own labels with SDMD's: its service, member, revision and configuration hash.
fn member_labels(def: &Definition, member: &str, revision: i32) -> HashMap<String, String> {
    let mut lbls: HashMap<String, String> = def.services[member]
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    lbls.insert(labels::SERVICE.into(), def.name.clone());
    lbls.insert(labels::MEMBER.into(), member.into());
    lbls.insert(labels::REVISION.into(), revision.to_string());
    lbls.insert(labels::CONFIG_HASH.into(), def.config_hash(member));
    lbls
}

/// A container's volumes as the engine takes them: `Binds` strings, `Mounts` and anonymous
/// volumes (container paths).
struct Mounts {
    binds: Vec<String>,
    mounts: Vec<EngineMount>,
    anonymous: Vec<String>,
}

/// The member's `volumes` entries as engine mounts.
fn member_mounts(def: &Definition, m: &crate::spec::Member) -> Mounts {
    let (mut binds, mut mounts, mut anonymous) = (Vec::new(), Vec::new(), Vec::new());
    for v in &m.volumes {
        match v {
            VolumeEntry::Short(s) => match Mount::parse(s) {
                // The short syntax goes through `Binds` with its mode list as written (ro, rw,
                // nocopy, z, Z, propagation), as docker-compose 1.29 sends it.
                Ok(Mount::Named {
                    volume,
                    target,
                    mode,
                }) => binds.push(bind_string(
                    &def.volume_name(&volume),
                    &target,
                    // An explicit `rw`, as docker-compose sends: without a mode the engine records
                    // `z` (an SELinux relabel) for named volumes, which compose never asks for.
                    mode.or_else(|| Some("rw".to_owned())),
                )),
                Ok(Mount::Bind {
                    source,
                    target,
                    mode,
                }) => binds.push(bind_string(&source, &target, mode)),
                Ok(Mount::Anonymous { target }) => anonymous.push(target),
                Ok(Mount::Tmpfs { .. }) | Err(_) => {}
            },
            VolumeEntry::Long(l) => match long_mount(def, l) {
                LongMount::Bind(b) => binds.push(b),
                LongMount::Mount(mt) => mounts.push(*mt),
            },
        }
    }
    Mounts {
        binds,
        mounts,
        anonymous,
    }
}

impl Mounts {
    /// Mounts the volumes `carried` from the replaced container again by name where the member
    /// still has an anonymous volume or mounts nothing at that path (see [`container_body`]).
    fn carry(&mut self, def: &Definition, m: &crate::spec::Member, carried: &[(String, String)]) {
        let configured: Vec<String> = m
            .volumes
            .iter()
            .filter_map(|v| match v.mount().ok()? {
                Mount::Named { target, .. }
                | Mount::Bind { target, .. }
                | Mount::Tmpfs { target } => Some(target),
                Mount::Anonymous { .. } => None,
            })
            .collect();
        let declared: Vec<String> = def.volumes.keys().map(|v| def.volume_name(v)).collect();
        for (target, volume) in carried {
            if configured.contains(target) || declared.contains(volume) {
                continue;
            }
            self.anonymous.retain(|a| a != target);
            // A long-syntax anonymous volume keeps its options; it just names the carried volume.
            match self
                .mounts
                .iter_mut()
                .find(|mt| mt.target.as_ref() == Some(target) && mt.typ == Some(MountType::VOLUME))
            {
                Some(mt) => mt.source = Some(volume.clone()),
                None => self.binds.push(format!("{volume}:{target}")),
            }
        }
    }
}

/// The read-only bind mounts of the member's secrets and configs delivered from files.
fn file_mounts(def: &Definition, m: &crate::spec::Member) -> Vec<EngineMount> {
    let mut mounts = Vec::new();
    for (kind, refs, decls) in file_refs(def, m) {
        for r in refs {
            if let Some(Delivery::Bind(source)) = decls.get(&r.source).and_then(|d| d.delivery(r)) {
                mounts.push(EngineMount {
                    typ: Some(MountType::BIND),
                    source: Some(source),
                    target: Some(r.container_path(kind)),
                    read_only: Some(true),
                    ..Default::default()
                });
            }
        }
    }
    mounts
}

/// The member's exposed ports (`port/protocol`, in order) and their host bindings.
fn ports(m: &crate::spec::Member) -> (Vec<String>, HashMap<String, Option<Vec<PortBinding>>>) {
    let mut exposed = Vec::new();
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in m.ports.iter().filter_map(|p| p.mappings().ok()).flatten() {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        port_bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: Some(p.host_port_spec()),
            });
    }
    (exposed, port_bindings)
}

fn restart_policy(r: Restart) -> RestartPolicy {
    match r {
        Restart::No => RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        },
        Restart::Always => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        },
        Restart::UnlessStopped => RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        },
        Restart::OnFailure(n) => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: (n > 0).then_some(i64::from(n)),
        },
    }
}

fn health_config(h: &crate::spec::Healthcheck) -> HealthConfig {
    let ns = |d: &Option<String>| d.as_deref().and_then(|d| parse_duration_ns(d).ok());
    HealthConfig {
        test: Some(if h.disable {
            vec!["NONE".into()]
        } else {
            h.test.clone()
        }),
        interval: ns(&h.interval),
        timeout: ns(&h.timeout),
        retries: h.retries.map(i64::from),
        start_period: ns(&h.start_period),
        // Deploy refuses start_interval on an engine older than API 1.44 (it would ignore it).
        start_interval: ns(&h.start_interval),
    }
}

/// Points `ipc`/`pid: service:X` and `volumes_from` at the containers they name, as
/// docker-compose 1.29 does: a member's container by id when it was created in this deploy
/// (else by its container name), and `volumes_from` always with its mode (default `rw`).
fn join_members(
    def: &Definition,
    rt: &crate::spec::runtime::Runtime,
    peers: &HashMap<String, String>,
    body: &mut ContainerCreateBody,
) {
    let peer = |x: &str| {
        peers
            .get(x)
            .cloned()
            .unwrap_or_else(|| def.container_name(x))
    };
    let h = body.host_config.get_or_insert_with(HostConfig::default);
    for mode in [&mut h.ipc_mode, &mut h.pid_mode] {
        let joined = mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
            .map(|x| format!("container:{}", peer(x)));
        if joined.is_some() {
            *mode = joined;
        }
    }
    let from: Vec<String> = rt
        .volumes_from
        .iter()
        .map(|v| {
            let (kind, rest) = v.split_once(':').unwrap_or(("container", v));
            let (name, mode) = rest.split_once(':').unwrap_or((rest, "rw"));
            let target = if kind == "service" {
                peer(name)
            } else {
                name.to_owned()
            };
            format!("{target}:{mode}")
        })
        .collect();
    h.volumes_from = (!from.is_empty()).then_some(from);
}

type Refs<'a> = (
    Kind,
    &'a [FileRef],
    &'a indexmap::IndexMap<String, crate::spec::objects::FileObject>,
);

fn file_refs<'a>(def: &'a Definition, m: &'a crate::spec::Member) -> [Refs<'a>; 2] {
    [
        (Kind::Secret, &m.secrets, &def.secrets),
        (Kind::Config, &m.configs, &def.configs),
    ]
}

/// A file copied into a container between create and start.
#[derive(Clone, PartialEq, Eq)]
pub struct CopiedFile {
    /// Absolute path in the container.
    pub path: String,
    /// The content (a secret's value: never logged).
    pub content: Vec<u8>,
    /// Owner, when the reference sets one.
    pub uid: Option<u64>,
    /// Group, when the reference sets one.
    pub gid: Option<u64>,
    /// Permission bits: the reference's `mode`, else compose v2's `0444`.
    pub mode: u32,
}

impl std::fmt::Debug for CopiedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopiedFile")
            .field("path", &self.path)
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("mode", &format_args!("{:o}", self.mode))
            .finish()
    }
}

/// The secrets and configs of `member` that are copied into its container before it starts:
/// those from `environment` or `content` (as compose v2's `injectSecrets`/`injectConfigs`), and
/// files with `uid`, `gid` or `mode`, which a bind mount cannot give (compose ignores them).
pub fn copied_files(def: &Definition, member: &str) -> Vec<CopiedFile> {
    let Some(m) = def.services.get(member) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, refs, decls) in file_refs(def, m) {
        for r in refs {
            if let Some(Delivery::Copy(content)) = decls.get(&r.source).and_then(|d| d.delivery(r))
            {
                out.push(CopiedFile {
                    path: r.container_path(kind),
                    content,
                    uid: r.uid.as_deref().and_then(|u| u.parse().ok()),
                    gid: r.gid.as_deref().and_then(|g| g.parse().ok()),
                    mode: r.mode.unwrap_or(0o444),
                });
            }
        }
    }
    out
}

/// `source:target[:mode]` for `HostConfig.Binds`.
fn bind_string(source: &str, target: &str, mode: Option<String>) -> String {
    match mode {
        Some(mode) => format!("{source}:{target}:{mode}"),
        None => format!("{source}:{target}"),
    }
}

/// Where a long-syntax entry goes: the engine's `Mounts`, or `Binds` for what `Mounts` cannot say.
enum LongMount {
    Bind(String),
    Mount(Box<EngineMount>),
}

/// Maps a long-syntax entry as compose v2 does (and docker-compose 1.29, which also sends the
/// long syntax as `HostConfig.Mounts`). A bind with `create_host_path: true` goes through
/// `Binds`, as compose v2 sends it, because `Mounts` fails on a missing host path instead of
/// creating it; so does a bind with `selinux`, because `Mounts` has no relabelling option.
fn long_mount(def: &Definition, l: &LongVolume) -> LongMount {
    let target = l.target.clone();
    let bind = l.bind.clone().unwrap_or_default();
    if l.kind == VolumeKind::Bind && (bind.create_host_path == Some(true) || bind.selinux.is_some())
    {
        let opts: Vec<&str> = [
            l.read_only.then_some("ro"),
            bind.selinux.as_deref(),
            bind.propagation.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let source = l.source.clone().unwrap_or_default();
        return LongMount::Bind(bind_string(
            &source,
            &target,
            (!opts.is_empty()).then(|| opts.join(",")),
        ));
    }
    let mut mt = EngineMount {
        target: Some(target),
        read_only: l.read_only.then_some(true),
        consistency: l.consistency.clone(),
        ..Default::default()
    };
    match l.kind {
        VolumeKind::Volume => {
            mt.typ = Some(MountType::VOLUME);
            mt.source = l.source.as_deref().map(|v| def.volume_name(v));
            mt.volume_options =
                l.volume
                    .as_ref()
                    .filter(|v| v.nocopy)
                    .map(|_| MountVolumeOptions {
                        no_copy: Some(true),
                        ..Default::default()
                    });
        }
        VolumeKind::Bind => {
            mt.typ = Some(MountType::BIND);
            mt.source = l.source.clone();
            mt.bind_options = bind
                .propagation
                .as_deref()
                .and_then(|p| p.parse().ok())
                .map(|p| MountBindOptions {
                    propagation: Some(p),
                    ..Default::default()
                });
        }
        VolumeKind::Tmpfs => {
            mt.typ = Some(MountType::TMPFS);
            mt.tmpfs_options = l.tmpfs.as_ref().map(|t| MountTmpfsOptions {
                size_bytes: t.size.as_ref().and_then(|s| s.bytes().ok()),
                mode: t.mode.map(i64::from),
                ..Default::default()
            });
        }
    }
    LongMount::Mount(Box::new(mt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::MountBindOptionsPropagationEnum;

    fn body(member: serde_json::Value) -> ContainerCreateBody {
        let def = crate::spec::parse(&serde_json::json!({
            "name": "svc",
            "services": {"web": member},
            "volumes": {"data": {}}
        }))
        .expect("valid");
        container_body(&def, "web", 1, &[], &HashMap::new()).expect("member exists")
    }

    #[test]
    fn volumes_map_as_compose() {
        let b = body(serde_json::json!({"image": "x", "volumes": [
            "data:/d2:ro,nocopy",
            "/srv:/s:rslave",
            {"type": "bind", "source": "/srv", "target": "/b", "read_only": true, "bind": {"propagation": "rprivate"}},
            {"type": "bind", "source": "/srv", "target": "/c", "bind": {"create_host_path": true, "selinux": "Z"}},
            {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": true}},
            {"type": "volume", "target": "/anon"},
            {"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1m", "mode": 1023}}
        ]}));
        let hc = b.host_config.expect("host config");
        assert_eq!(
            hc.binds,
            Some(vec![
                "svc_data:/d2:ro,nocopy".to_string(),
                "/srv:/s:rslave".into(),
                "/srv:/c:Z".into()
            ])
        );
        let mounts = hc.mounts.expect("mounts");
        assert_eq!(
            mounts[0],
            EngineMount {
                typ: Some(MountType::BIND),
                source: Some("/srv".into()),
                target: Some("/b".into()),
                read_only: Some(true),
                bind_options: Some(MountBindOptions {
                    propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
                    ..Default::default()
                }),
                ..Default::default()
            }
        );
        assert_eq!(mounts[1].source.as_deref(), Some("svc_data"));
        assert_eq!(
            mounts[1].volume_options.as_ref().and_then(|v| v.no_copy),
            Some(true)
        );
        assert_eq!(mounts[2].source, None);
        assert_eq!(mounts[2].typ, Some(MountType::VOLUME));
        assert_eq!(
            mounts[3].tmpfs_options,
            Some(MountTmpfsOptions {
                size_bytes: Some(1 << 20),
                mode: Some(1023),
                ..Default::default()
            })
        );
    }

    #[test]
    fn carried_volume_names_a_long_anonymous_mount() {
        let def = crate::spec::parse(&serde_json::json!({
            "name": "svc",
            "services": {"web": {"image": "x", "volumes": [{"type": "volume", "target": "/anon", "read_only": true}]}}
        }))
        .expect("valid");
        let b = container_body(
            &def,
            "web",
            1,
            &[("/anon".into(), "a".repeat(64))],
            &HashMap::new(),
        )
        .expect("member exists");
        let hc = b.host_config.expect("host config");
        let m = &hc.mounts.expect("mounts")[0];
        assert_eq!(m.source, Some("a".repeat(64)));
        assert_eq!(m.read_only, Some(true));
        assert_eq!(hc.binds, None);
    }

    #[test]
    fn shared_namespaces_and_volumes_follow_compose() {
        let def = crate::spec::parse(&serde_json::json!({
            "name": "svc",
            "services": {
                "data": {"image": "x", "ipc": "shareable"},
                "app": {"image": "x", "ipc": "service:data", "pid": "service:data",
                        "volumes_from": ["data:ro", "service:data", "container:other", "other:rw"]}
            }
        }))
        .expect("valid");
        assert_eq!(
            def.services["app"].runtime.volumes_from,
            vec![
                "service:data:ro".to_string(),
                "service:data".into(),
                "container:other".into(),
                "container:other:rw".into()
            ],
            "a bare name is a member when one has it, else a container"
        );
        assert_eq!(def.start_order(), vec!["data".to_string(), "app".into()]);
        let peers = HashMap::from([("data".to_string(), "abc123".to_string())]);
        let hc = container_body(&def, "app", 1, &[], &peers)
            .and_then(|b| b.host_config)
            .expect("host config");
        assert_eq!(hc.ipc_mode.as_deref(), Some("container:abc123"));
        assert_eq!(hc.pid_mode.as_deref(), Some("container:abc123"));
        assert_eq!(
            hc.volumes_from,
            Some(vec![
                "abc123:ro".to_string(),
                "abc123:rw".into(),
                "other:rw".into(),
                "other:rw".into()
            ])
        );
        // Not created yet in this deploy: by container name.
        let hc = container_body(&def, "app", 1, &[], &HashMap::new())
            .and_then(|b| b.host_config)
            .expect("host config");
        assert_eq!(hc.ipc_mode.as_deref(), Some("container:svc-data"));
        for (doc, field) in [
            (
                serde_json::json!({"image": "x", "ipc": "service:ghost"}),
                "services.app.ipc",
            ),
            (
                serde_json::json!({"image": "x", "pid": "service:app"}),
                "services.app.pid",
            ),
            (
                serde_json::json!({"image": "x", "volumes_from": ["service:ghost"]}),
                "services.app.volumes_from[0]",
            ),
        ] {
            let err =
                crate::spec::parse(&serde_json::json!({"name": "s", "services": {"app": doc}}))
                    .expect_err("refused");
            assert_eq!(err[0].field, field, "{err:?}");
        }
    }

    #[test]
    fn secrets_and_configs_mount_or_copy() {
        let mut def = crate::spec::parse(&serde_json::json!({
            "name": "svc",
            "services": {"web": {"image": "x",
                "secrets": ["pw", {"source": "pw", "target": "/etc/pw", "uid": "1", "mode": 256}, "tok"],
                "configs": [{"source": "conf", "target": "conf.d/a"}, "inline"]}},
            "secrets": {"pw": {"file": "/srv/pw"}, "tok": {"environment": "TOKEN"}},
            "configs": {"conf": {"file": "/srv/a.conf"}, "inline": {"content": "k=v"}}
        }))
        .expect("valid");
        let hc = container_body(&def, "web", 1, &[], &HashMap::new())
            .and_then(|b| b.host_config)
            .expect("host config");
        let mounts: Vec<(Option<String>, Option<String>, Option<bool>)> = hc
            .mounts
            .expect("mounts")
            .into_iter()
            .map(|m| (m.source, m.target, m.read_only))
            .collect();
        assert_eq!(
            mounts,
            vec![
                (
                    Some("/srv/pw".into()),
                    Some("/run/secrets/pw".into()),
                    Some(true)
                ),
                (
                    Some("/srv/a.conf".into()),
                    Some("/conf.d/a".into()),
                    Some(true)
                ),
            ]
        );
        // Without resolved content (not from a project) only `content` is known.
        let copied: Vec<String> = copied_files(&def, "web")
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(copied, vec!["/inline".to_string()]);
        def.secrets["pw"].data = Some(b"p".to_vec());
        def.secrets["tok"].data = Some(b"t".to_vec());
        let copied = copied_files(&def, "web");
        let summary: Vec<(&str, Option<u64>, u32)> = copied
            .iter()
            .map(|f| (f.path.as_str(), f.uid, f.mode))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/etc/pw", Some(1), 0o400),
                ("/run/secrets/tok", None, 0o444),
                ("/inline", None, 0o444)
            ]
        );
        assert!(
            !format!("{copied:?}").contains("k=v"),
            "content is never printed"
        );
    }

    #[test]
    fn ports_long_and_ranges() {
        let b = body(serde_json::json!({"image": "x", "ports": [
            {"target": 80, "published": "8080", "host_ip": "127.0.0.1"},
            {"target": 53, "published": 5353, "protocol": "udp"},
            "9000-9010:81"
        ]}));
        let pb = b
            .host_config
            .and_then(|h| h.port_bindings)
            .expect("bindings");
        let host = |k: &str| {
            pb[k].as_ref().map(|v| {
                v.iter()
                    .map(|b| (b.host_ip.clone(), b.host_port.clone()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            host("80/tcp"),
            Some(vec![(Some("127.0.0.1".into()), Some("8080".into()))])
        );
        assert_eq!(host("53/udp"), Some(vec![(None, Some("5353".into()))]));
        assert_eq!(host("81/tcp"), Some(vec![(None, Some("9000-9010".into()))]));
    }
}
