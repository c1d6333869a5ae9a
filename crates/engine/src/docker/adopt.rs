//! Reads a running container back into a member definition, minus what its image already sets:
//! `docker inspect` freezes image defaults (PATH, image labels, CMD) into the container, and
//! copying them would pin the service to the old image's settings after an update.

use std::collections::{HashMap, HashSet};

use bollard::models::{
    ContainerInspectResponse, HealthConfig, HostConfig, ImageInspect, MountPoint, MountType,
};
use indexmap::IndexMap;
use serde::Serialize;

use crate::spec::network::NetworkDecl;
use crate::spec::volumes::{BindOptions, ByteSize, TmpfsOptions, VolumeOptions};
use crate::spec::{Healthcheck, LongVolume, Member, Mount, VolumeDecl, VolumeEntry, VolumeKind};

/// A setting of an existing container that a definition cannot express: a deploy of the
/// adopted definition would not reproduce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostSetting {
    /// The container that has it.
    pub container: String,
    /// Where `docker inspect` shows it (`HostConfig.BlkioWeight`, `Mounts[/data]`, …).
    pub field: String,
    /// Its value, as inspect shows it.
    pub value: String,
    /// Why a definition cannot express it.
    pub message: String,
}

impl LostSetting {
    /// A setting of the container being read (the caller fills in `container`).
    pub(crate) fn new(field: impl Into<String>, value: impl Into<String>, why: &str) -> Self {
        Self {
            container: String::new(),
            field: field.into(),
            value: value.into(),
            message: why.to_owned(),
        }
    }
}

/// A member reconstructed from a container.
#[derive(Debug, Clone)]
pub struct Adopted {
    /// Suggested member name (compose service name, else from the container name).
    pub member: String,
    /// The container's name.
    pub container_name: String,
    /// The member definition.
    pub spec: Member,
    /// Volumes the member mounts, as top-level declarations: each names the existing volume
    /// and is `external`, so a deploy mounts the same data and never creates or removes it.
    pub volumes: Vec<(String, VolumeDecl)>,
    /// Settings of the container a definition cannot express: a deploy of the adopted
    /// definition would not reproduce them.
    pub lost: Vec<LostSetting>,
    /// Networks the member joins that SDMD did not create, as top-level `external`
    /// declarations naming the existing network (never created or removed by SDMD).
    pub networks: Vec<(String, NetworkDecl)>,
}

fn ns_to_duration(ns: Option<i64>) -> Option<String> {
    let ns = ns.filter(|n| *n > 0)?;
    Some(if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else {
        format!("{}ms", ns / 1_000_000)
    })
}

/// `key`, or `key-2`, `key-3`, … when another volume of the same container already uses it.
fn unique_key(taken: &[(String, VolumeDecl)], key: String) -> String {
    let used = |k: &str| taken.iter().any(|(t, _)| t == k);
    if !used(&key) {
        return key;
    }
    (2..)
        .map(|n| format!("{key}-{n}"))
        .find(|k| !used(k))
        .unwrap_or(key)
}

fn member_name_from(name: &str) -> String {
    let mut s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(63);
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "app".into() } else { s }
}

/// The key a volume gets in the definition: compose's `<project>_<vol>` is `<vol>`; an
/// anonymous volume (64 hex digits) is named after the member and the path it is mounted at.
fn volume_key(member: &str, project: Option<&str>, name: &str, dest: &str) -> String {
    if is_anonymous(name) {
        format!("{member}-{}", member_name_from(dest))
    } else {
        project
            .and_then(|p| name.strip_prefix(&format!("{p}_")))
            .unwrap_or(name)
            .to_owned()
    }
}

fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.chars().all(|ch| ch.is_ascii_hexdigit())
}

/// Declares the existing volume `name` under a key (made unique) and returns the key. Every
/// volume is `external` with its real name: a deploy mounts the same data and never creates
/// or removes it. Anonymous volumes hold data too, so they are referred to by name the same way.
fn declare(
    volumes: &mut Vec<(String, VolumeDecl)>,
    member: &str,
    project: Option<&str>,
    name: &str,
    dest: &str,
) -> String {
    let decl = VolumeDecl {
        name: Some(name.to_owned()),
        external: true,
        ..VolumeDecl::default()
    };
    if let Some((k, _)) = volumes.iter().find(|(_, d)| *d == decl) {
        return k.clone();
    }
    let key = unique_key(volumes, volume_key(member, project, name, dest));
    volumes.push((key.clone(), decl));
    key
}

/// A container's mounts as `volumes` entries, from what the container was created with:
/// `HostConfig.Binds` (the `-v` syntax, kept as written: its mode list is compose's short
/// syntax), `HostConfig.Mounts` (`--mount`, compose's long syntax) and, for what neither
/// names (an image `VOLUME`, `-v /path`), the mount points themselves.
fn adopt_mounts(
    member: &str,
    project: Option<&str>,
    host: &HostConfig,
    points: Vec<MountPoint>,
    lost: &mut Vec<LostSetting>,
) -> (Vec<(String, VolumeDecl)>, Vec<VolumeEntry>) {
    let mut read = MountsRead {
        member,
        project,
        points: &points,
        volumes: Vec::new(),
        entries: Vec::new(),
        covered: HashSet::new(),
        lost,
    };
    for b in host.binds.clone().unwrap_or_default() {
        read.bind(b);
    }
    for m in host.mounts.clone().unwrap_or_default() {
        let dest = m.target.clone().unwrap_or_default();
        read.covered.insert(dest.clone());
        match read.long(&m, &dest) {
            Ok(long) => read.entries.push(VolumeEntry::Long(long)),
            Err(why) => read.lost.push(LostSetting::new(
                format!("HostConfig.Mounts[{dest}]"),
                serde_json::to_string(&m).unwrap_or_default(),
                &why,
            )),
        }
    }
    read.unnamed();
    (read.volumes, read.entries)
}

/// The mounts of one container as `adopt_mounts` reads them back.
struct MountsRead<'a> {
    member: &'a str,
    project: Option<&'a str>,
    points: &'a [MountPoint],
    /// The volumes mounted, as top-level declarations.
    volumes: Vec<(String, VolumeDecl)>,
    /// The member's `volumes` entries.
    entries: Vec<VolumeEntry>,
    /// The container paths `Binds` and `Mounts` name.
    covered: HashSet<String>,
    lost: &'a mut Vec<LostSetting>,
}

impl MountsRead<'_> {
    fn point(&self, dest: &str) -> Option<&MountPoint> {
        self.points
            .iter()
            .find(|p| p.destination.as_deref() == Some(dest))
    }

    fn declare(&mut self, name: &str, dest: &str) -> String {
        declare(&mut self.volumes, self.member, self.project, name, dest)
    }

    /// One `HostConfig.Binds` entry as a short-syntax entry.
    fn bind(&mut self, b: String) {
        let mut parts = b.splitn(3, ':');
        let (src, dest, mode) = (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
            parts.next().map(str::to_owned),
        );
        self.covered.insert(dest.clone());
        let field = format!("HostConfig.Binds[{dest}]");
        if src.starts_with('/') {
            match Mount::parse(&b) {
                Ok(_) => self.entries.push(VolumeEntry::Short(b.clone())),
                Err(e) => self.lost.push(LostSetting::new(field, &b, &e)),
            }
            return;
        }
        // A volume: its mode as written, else the one the engine recorded (`z` for a volume
        // bound without a mode), which SDMD then sends as written.
        let mode = mode.or_else(|| {
            self.point(&dest)
                .and_then(|p| p.mode.clone())
                .filter(|m| !m.is_empty())
        });
        let key = self.declare(&src, &dest);
        let entry = match &mode {
            Some(m) => format!("{key}:{dest}:{m}"),
            None => format!("{key}:{dest}"),
        };
        match Mount::parse(&entry) {
            Ok(_) => self.entries.push(VolumeEntry::Short(entry)),
            Err(e) => self.lost.push(LostSetting::new(field, &b, &e)),
        }
    }

    /// One `HostConfig.Mounts` entry as a long-syntax entry, or why it cannot be one.
    fn long(&mut self, m: &bollard::models::Mount, dest: &str) -> Result<LongVolume, String> {
        let mut long = LongVolume {
            kind: VolumeKind::Volume,
            source: None,
            target: dest.to_owned(),
            read_only: m.read_only == Some(true),
            consistency: m.consistency.clone().filter(|c| !c.is_empty()),
            bind: None,
            volume: None,
            tmpfs: None,
        };
        match m.typ {
            Some(MountType::BIND) => {
                let b = m.bind_options.clone().unwrap_or_default();
                if b.non_recursive == Some(true)
                    || b.create_mountpoint == Some(true)
                    || b.read_only_non_recursive == Some(true)
                    || b.read_only_force_recursive == Some(true)
                {
                    return Err("bind options `bind-nonrecursive`, `bind-create-mountpoint`, `bind-recursive` have no compose attribute".into());
                }
                long.kind = VolumeKind::Bind;
                long.source = m.source.clone();
                long.bind = b
                    .propagation
                    .map(|p| p.to_string())
                    .filter(|p| !p.is_empty())
                    .map(|p| BindOptions {
                        propagation: Some(p),
                        ..BindOptions::default()
                    });
            }
            Some(MountType::VOLUME) => {
                let v = m.volume_options.clone().unwrap_or_default();
                if v.subpath.as_deref().is_some_and(|s| !s.is_empty()) {
                    return Err("`volume.subpath` needs Engine API 1.45; SDMD targets 1.41".into());
                }
                // The volume exists already: its driver and labels stay as they are.
                let name = m
                    .source
                    .clone()
                    .filter(|s| !s.is_empty())
                    .or_else(|| self.point(dest).and_then(|p| p.name.clone()));
                let Some(name) = name else {
                    return Err("the container has no volume mounted there".into());
                };
                long.source = Some(self.declare(&name, dest));
                long.volume = (v.no_copy == Some(true)).then_some(VolumeOptions { nocopy: true });
            }
            Some(MountType::TMPFS) => {
                let t = m.tmpfs_options.clone().unwrap_or_default();
                if t.options.as_ref().is_some_and(|o| !o.is_empty()) {
                    return Err("tmpfs mount options other than size and mode need Engine API 1.46 and have no compose attribute".into());
                }
                long.kind = VolumeKind::Tmpfs;
                let size = t.size_bytes.filter(|s| *s > 0);
                let mode = t.mode.filter(|m| *m > 0);
                long.tmpfs = (size.is_some() || mode.is_some()).then(|| TmpfsOptions {
                    size: size.map(|s| ByteSize::Bytes(s as u64)),
                    mode: mode.map(|m| m as u32),
                });
            }
            other => {
                return Err(format!(
                    "a mount of type `{}` cannot be expressed (SDMD mounts volume, bind and tmpfs)",
                    other.map(|t| t.to_string()).unwrap_or_default()
                ));
            }
        }
        Ok(long)
    }

    /// What the create did not name: anonymous volumes of `-v /path` and of the image's
    /// VOLUMEs (and mounts shared through `VolumesFrom`, which the engine lets the container's
    /// own mounts of the same paths override): mounted again by name, so the data stays.
    fn unnamed(&mut self) {
        for p in self.points {
            let dest = p.destination.clone().unwrap_or_default();
            if self.covered.contains(&dest) {
                continue;
            }
            let ro = if p.rw == Some(false) { ":ro" } else { "" };
            match p.typ.as_deref() {
                Some("volume") => {
                    let name = p.name.clone().unwrap_or_default();
                    let key = self.declare(&name, &dest);
                    self.entries
                        .push(VolumeEntry::Short(format!("{key}:{dest}{ro}")));
                }
                Some("bind") => {
                    let src = p.source.clone().unwrap_or_default();
                    self.entries
                        .push(VolumeEntry::Short(format!("{src}:{dest}{ro}")));
                }
                other => self.lost.push(LostSetting::new(
                    format!("Mounts[{dest}]"),
                    other.unwrap_or_default(),
                    "a mount of this type cannot be expressed",
                )),
            }
        }
    }
}

/// Reads `c` (created from `image`) into a member. `macs_from_ip`: the engine derives a
/// container's MAC address from its IPv4 address (engines before API 1.48), so another MAC was
/// chosen at create.
pub(super) fn from_inspect(
    image_ref: &str,
    c: ContainerInspectResponse,
    image: Option<ImageInspect>,
    macs_from_ip: bool,
) -> Adopted {
    // The group modules read what they need from the whole inspect.
    let mut network = super::create::network::adopt(&c, image.as_ref(), macs_from_ip);
    let runtime = super::create::runtime::adopt(&c, image.as_ref());
    let mut lost = super::create::runtime::unexpressible(&c, image.as_ref());
    lost.append(&mut network.lost);
    let config = c.config.unwrap_or_default();
    let host = c.host_config.unwrap_or_default();
    let img = image.and_then(|i| i.config).unwrap_or_default();
    let container_name = c
        .name
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let labels_in = config.labels.unwrap_or_default();
    let project = labels_in.get(super::labels::COMPOSE_PROJECT).cloned();
    let member = labels_in
        .get(super::labels::COMPOSE_SERVICE)
        .map(|s| member_name_from(s))
        .unwrap_or_else(|| member_name_from(&container_name));
    let (entrypoint, command) = entrypoint_and_command(
        config.entrypoint.unwrap_or_default(),
        config.cmd.unwrap_or_default(),
        &img,
    );
    let image_env = img.env.unwrap_or_default();
    let environment: IndexMap<String, String> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter(|kv| !image_env.contains(kv))
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let image_labels = img.labels.unwrap_or_default();
    let mut labels: IndexMap<String, String> = labels_in
        .into_iter()
        .filter(|(k, v)| image_labels.get(k) != Some(v))
        .filter(|(k, _)| !k.starts_with("com.docker.compose.") && !k.starts_with("io.sdmd."))
        .collect();
    labels.sort_keys();
    let healthcheck = config
        .healthcheck
        .filter(|h| Some(h) != img.healthcheck.as_ref())
        .and_then(adopt_healthcheck);
    let (volumes, mounts) = adopt_mounts(
        &member,
        project.as_deref(),
        &host,
        c.mounts.unwrap_or_default(),
        &mut lost,
    );
    Adopted {
        member,
        container_name: container_name.clone(),
        spec: Member {
            image: image_ref.to_owned(),
            container_name: Some(container_name),
            environment,
            volumes: mounts,
            ports: adopt_ports(host.port_bindings.unwrap_or_default())
                .into_iter()
                .map(Into::into)
                .collect(),
            profiles: Vec::new(),
            restart: host.restart_policy.and_then(adopt_restart),
            depends_on: IndexMap::new(),
            command,
            entrypoint,
            labels,
            healthcheck,
            init: host.init.filter(|i| *i),
            // A secret or config file shows in inspect as the bind mount it is: kept in `volumes`.
            secrets: Vec::new(),
            configs: Vec::new(),
            network: network.spec,
            runtime,
            extensions: IndexMap::new(),
        },
        volumes,
        lost,
        networks: network.decls,
    }
}

/// The `entrypoint` and `command` to write for a container created with `own_entrypoint` and
/// `own_cmd` from an image configured as `img`.
///
/// The engine takes the image's ENTRYPOINT and CMD only when the create names no entrypoint.
/// So a container whose CMD was cleared (`docker run --entrypoint X`) keeps its entrypoint even
/// when it is the image's; one whose entrypoint was cleared (`--entrypoint ""`) says so with
/// `[""]` (as the docker CLI sends it); and with an entrypoint the command is always written.
fn entrypoint_and_command(
    own_entrypoint: Vec<String>,
    own_cmd: Vec<String>,
    img: &bollard::models::ImageConfig,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let image_cmd = img.cmd.clone().unwrap_or_default();
    let image_entrypoint = img.entrypoint.clone().unwrap_or_default();
    let entrypoint = if own_entrypoint.is_empty() {
        (!image_entrypoint.is_empty()).then(|| vec![String::new()])
    } else if own_entrypoint != image_entrypoint || (own_cmd.is_empty() && !image_cmd.is_empty()) {
        Some(own_entrypoint)
    } else {
        None
    };
    let command =
        (!own_cmd.is_empty() && (entrypoint.is_some() || own_cmd != image_cmd)).then_some(own_cmd);
    (entrypoint, command)
}

/// A container's own health check (one that differs from its image's); `None` for one with no
/// test.
fn adopt_healthcheck(h: HealthConfig) -> Option<Healthcheck> {
    let test = h.test.unwrap_or_default();
    if test.is_empty() {
        return None;
    }
    let disable = test.first().map(String::as_str) == Some("NONE");
    Some(Healthcheck {
        test: if disable { Vec::new() } else { test },
        interval: ns_to_duration(h.interval),
        timeout: ns_to_duration(h.timeout),
        retries: h
            .retries
            .and_then(|r| u32::try_from(r).ok())
            .filter(|r| *r > 0),
        start_period: ns_to_duration(h.start_period),
        start_interval: ns_to_duration(h.start_interval),
        disable,
    })
}

/// Port bindings as short-syntax `ports` entries, by container port.
fn adopt_ports(
    bindings: HashMap<String, Option<Vec<bollard::models::PortBinding>>>,
) -> Vec<String> {
    let mut ports = Vec::new();
    let mut bindings: Vec<_> = bindings.into_iter().collect();
    bindings.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, binds) in bindings {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let suffix = if proto == "tcp" {
            String::new()
        } else {
            format!("/{proto}")
        };
        for b in binds.unwrap_or_default() {
            let hp = b.host_port.unwrap_or_default();
            ports.push(match b.host_ip.as_deref() {
                Some(ip) if !ip.is_empty() && ip != "0.0.0.0" => {
                    let ip = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.to_owned()
                    };
                    format!("{ip}:{hp}:{port}{suffix}")
                }
                _ if hp.is_empty() => format!("{port}{suffix}"),
                _ => format!("{hp}:{port}{suffix}"),
            });
        }
    }
    ports
}

/// A restart policy as compose's `restart` (`None` for `no`).
fn adopt_restart(r: bollard::models::RestartPolicy) -> Option<String> {
    let name = r.name?.to_string();
    match name.as_str() {
        "" | "no" => None,
        "on-failure" => Some(match r.maximum_retry_count.filter(|n| *n > 0) {
            Some(n) => format!("on-failure:{n}"),
            None => "on-failure".into(),
        }),
        _ => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ImageConfig};

    #[test]
    fn drops_image_defaults() {
        let c = ContainerInspectResponse {
            name: Some("/my_app".into()),
            config: Some(ContainerConfig {
                env: Some(vec!["PATH=/bin".into(), "GREETING=hi".into()]),
                cmd: Some(vec!["httpd".into()]),
                labels: Some(
                    [
                        ("maintainer".to_string(), "x".to_string()),
                        ("tier".into(), "web".into()),
                    ]
                    .into(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let img = ImageInspect {
            config: Some(ImageConfig {
                env: Some(vec!["PATH=/bin".into()]),
                cmd: Some(vec!["httpd".into()]),
                labels: Some([("maintainer".to_string(), "x".to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let a = from_inspect("local/app:1", c, Some(img), true);
        assert_eq!(a.member, "my-app");
        assert_eq!(a.spec.environment.len(), 1);
        assert_eq!(a.spec.environment["GREETING"], "hi");
        assert_eq!(a.spec.command, None);
        assert_eq!(a.spec.labels.keys().collect::<Vec<_>>(), vec!["tier"]);
    }

    fn inspect(v: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(v).expect("inspect")
    }

    #[test]
    fn entrypoint_and_command_as_the_engine_merges_them() {
        let img: ImageInspect = serde_json::from_value(serde_json::json!({
            "Config": {"Entrypoint": ["sleep"], "Cmd": ["60"]}
        }))
        .expect("image");
        let run = |ep: serde_json::Value, cmd: serde_json::Value| {
            let c = inspect(
                serde_json::json!({"Name": "/x", "Config": {"Entrypoint": ep, "Cmd": cmd}}),
            );
            let a = from_inspect("i", c, Some(img.clone()), true);
            (a.spec.entrypoint, a.spec.command)
        };
        let v = |s: &[&str]| Some(s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // The image's own: nothing to write.
        assert_eq!(
            run(serde_json::json!(["sleep"]), serde_json::json!(["60"])),
            (None, None)
        );
        // `--entrypoint ""` cleared it: `[""]`, and the command is written.
        assert_eq!(
            run(serde_json::Value::Null, serde_json::json!(["echo", "hi"])),
            (v(&[""]), v(&["echo", "hi"]))
        );
        // `--entrypoint sleep` (the image's) cleared CMD: the entrypoint is written so the engine
        // does not take the image's CMD.
        assert_eq!(
            run(serde_json::json!(["sleep"]), serde_json::Value::Null),
            (v(&["sleep"]), None)
        );
        // Another entrypoint with the image's CMD text: both written.
        assert_eq!(
            run(serde_json::json!(["sh"]), serde_json::json!(["60"])),
            (v(&["sh"]), v(&["60"]))
        );
    }

    #[test]
    fn mounts_keep_their_syntax_and_volumes_their_names() {
        let anon = "a".repeat(64);
        let anon2 = "b".repeat(64);
        let c = inspect(serde_json::json!({
            "Name": "/app",
            "HostConfig": {
                "Binds": ["/srv:/h:z,ro", "data:/v:nocopy", "data2:/w", "/bad:/x:cached"],
                "Mounts": [
                    {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1000000, "Mode": 1023}},
                    {"Type": "volume", "Target": "/anon2", "VolumeOptions": {"NoCopy": true}},
                    {"Type": "bind", "Source": "/etc", "Target": "/e", "ReadOnly": true,
                     "BindOptions": {"Propagation": "rslave"}},
                    {"Type": "bind", "Source": "/etc", "Target": "/nr", "BindOptions": {"NonRecursive": true}},
                    {"Type": "npipe", "Source": "x", "Target": "/p"}
                ]
            },
            "Mounts": [
                {"Type": "volume", "Name": "data2", "Destination": "/w", "Mode": "z", "RW": true},
                {"Type": "volume", "Name": anon2, "Destination": "/anon2", "Mode": "z", "RW": true},
                {"Type": "volume", "Name": anon, "Destination": "/cache", "Mode": "", "RW": true}
            ]
        }));
        let a = from_inspect("i", c, None, true);
        let entries: Vec<serde_json::Value> = a
            .spec
            .volumes
            .iter()
            .map(|v| serde_json::to_value(v).expect("json"))
            .collect();
        assert_eq!(
            entries,
            vec![
                serde_json::json!("/srv:/h:z,ro"),
                serde_json::json!("data:/v:nocopy"),
                // The engine recorded `z` for a volume bound without a mode: written out.
                serde_json::json!("data2:/w:z"),
                serde_json::json!({"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1000000, "mode": 1023}}),
                serde_json::json!({"type": "volume", "source": "app-anon2", "target": "/anon2", "volume": {"nocopy": true}}),
                serde_json::json!({"type": "bind", "source": "/etc", "target": "/e", "read_only": true, "bind": {"propagation": "rslave"}}),
                serde_json::json!("app-cache:/cache"),
            ]
        );
        let names: Vec<(&str, Option<&str>, bool)> = a
            .volumes
            .iter()
            .map(|(k, d)| (k.as_str(), d.name.as_deref(), d.external))
            .collect();
        assert_eq!(
            names,
            vec![
                ("data", Some("data"), true),
                ("data2", Some("data2"), true),
                ("app-anon2", Some(anon2.as_str()), true),
                ("app-cache", Some(anon.as_str()), true),
            ]
        );
        let lost: Vec<&str> = a.lost.iter().map(|l| l.field.as_str()).collect();
        assert_eq!(
            lost,
            vec![
                "HostConfig.Binds[/x]",
                "HostConfig.Mounts[/nr]",
                "HostConfig.Mounts[/p]"
            ]
        );
        assert!(a.lost.iter().all(|l| !l.message.is_empty()));
    }

    #[test]
    fn networking_and_process_losses_are_named() {
        let c = inspect(serde_json::json!({
            "Name": "/app",
            "Config": {"StdinOnce": true, "Shell": ["/bin/bash", "-c"]},
            "HostConfig": {"NetworkMode": "default", "AutoRemove": true, "BlkioWeight": 300,
                           "ContainerIDFile": "/tmp/id", "MaskedPaths": ["/proc/kcore", "/secret"],
                           "ReadonlyPaths": ["/proc/sys"], "Links": ["/db:/app/db"]},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.5", "MacAddress": "02:42:ac:11:00:05"}}}
        }));
        let a = from_inspect("i", c, None, true);
        assert_eq!(a.spec.network.network_mode.as_deref(), Some("bridge"));
        let lost: Vec<&str> = a.lost.iter().map(|l| l.field.as_str()).collect();
        assert_eq!(
            lost,
            vec![
                "HostConfig.BlkioWeight",
                "HostConfig.ContainerIDFile",
                "HostConfig.AutoRemove",
                "Config.StdinOnce",
                "HostConfig.Links",
                "HostConfig.MaskedPaths",
                "Config.Shell",
            ]
        );
        // A chosen MAC address on the network the container was created on is adopted; one on
        // a network joined later is a loss. A container on bridge and another network.
        let c = inspect(serde_json::json!({
            "Name": "/app",
            "HostConfig": {"NetworkMode": "mynet", "MaskedPaths": [], "ReadonlyPaths": []},
            "NetworkSettings": {"Networks": {
                "bridge": {"IPAddress": "172.17.0.5", "MacAddress": "02:42:ac:11:00:07"},
                "mynet": {"IPAddress": "10.1.0.2", "MacAddress": "02:11:22:33:44:55"}}}
        }));
        let a = from_inspect("i", c.clone(), None, true);
        let lost: Vec<&str> = a.lost.iter().map(|l| l.field.as_str()).collect();
        assert_eq!(
            lost,
            vec![
                "NetworkSettings.Networks.bridge.MacAddress",
                "NetworkSettings.Networks.bridge"
            ]
        );
        assert_eq!(
            a.spec.network.mac_address.as_deref(),
            Some("02:11:22:33:44:55")
        );
        assert!(a.spec.network.networks.contains_key("mynet"));
        // Empty path lists are `systempaths=unconfined`.
        assert_eq!(a.spec.runtime.security_opt, vec!["systempaths=unconfined"]);
        // Engines that pick MACs at random: a MAC says nothing.
        let a = from_inspect("i", c, None, false);
        assert_eq!(a.lost.len(), 1);
    }
}
