//! Maps a container's `docker inspect` to the parts that are *configuration*, so that the same
//! compose file deployed by docker-compose and by SDMD can be compared field by field.
//!
//! # What is naming (normalised) and what is configuration (compared)
//!
//! Compared, after the rules below: all of `Config`, all of `HostConfig`, `Mounts`, and per
//! network of `NetworkSettings.Networks` the aliases, IPAM configuration, links, driver options
//! (and the MAC address when one was configured).
//!
//! Naming — rewritten to a placeholder on both sides, because the two tools name things
//! differently by design:
//! - networks: compose's `<project>_default` and SDMD's `sdmd_<service>` are both `<default>`;
//!   declared networks `<project>_<net>` (compose) and `sdmd_<service>_<net>` or
//!   `<service>_<net>` (SDMD) are `<net>`. Applies to network keys and `HostConfig.NetworkMode`.
//! - volumes: `<project>_<vol>` (compose) and `<service>_<vol>` (SDMD) are `<vol>`; anonymous
//!   volumes (64 hex digits) are `<anon>`; in `Binds` and `Mounts` (where a volume's `Source`,
//!   its path under `/var/lib/docker/volumes`, becomes the normalised name).
//! - bind sources under the project directory become `./relative/path`.
//! - containers: ids, short ids and names of the deployment's containers become
//!   `<container:member>` (in `container:` modes, links, `VolumesFrom`); the default hostname (the
//!   container's short id) is dropped, an explicit one is compared.
//! - labels `com.docker.compose.*` and `io.sdmd.*` (each tool's own bookkeeping) are dropped.
//! - the alias equal to the container's short id (added by compose 1.29) is dropped.
//!
//! Representation — equal meaning spelled differently, made equal:
//! - absent, `null`, `[]` and `{}` are the same (the engine answers any of them for "unset").
//! - the mode `rw` in `Binds` and `Mounts[].Mode` is the default (`RW` is compared separately);
//!   the remaining mode flags are sorted.
//! - `RestartPolicy.Name` `""` is `no` (what the engine does with it).
//! - lists whose order has no meaning are sorted: `Env`, `Binds`, `CapAdd`, `CapDrop`,
//!   `SecurityOpt`, `GroupAdd`, `ExtraHosts`, `Devices`, `Ulimits`, `Links`, `Mounts`, aliases and
//!   each port's list of bindings. `Cmd`, `Entrypoint`, `Dns`, `DnsSearch`, `DnsOptions` and
//!   health check tests keep their order (it matters).
//!
//! Dropped as derived or assigned at run time, not configured: `Config.Volumes` (compose lists
//! every mount target there, SDMD only anonymous ones; what is mounted where is `Mounts`),
//! `HostConfig.ContainerIDFile`, the endpoint's ids, addresses and gateway (the configured
//! address is `IPAMConfig`), its MAC address unless `Config.MacAddress` is set, and
//! `NetworkSettings.Ports` (engine-picked host ports; the configuration is `PortBindings`).
//!
//! Anything else that differs is a real difference and is reported.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

/// How one deployment names things: enough to rewrite its names into placeholders.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// Full network name → normalised name (e.g. `proj_default` → `<default>`).
    pub networks: BTreeMap<String, String>,
    /// Prefixes stripped from other network names (`proj_`).
    pub network_prefixes: Vec<String>,
    /// Prefix stripped from volume names (`proj_`).
    pub volume_prefix: String,
    /// The project directory that relative bind sources were resolved against.
    pub project_dir: Option<String>,
    /// Container id, short id, or name → member (compose service) name.
    pub containers: BTreeMap<String, String>,
}

impl Naming {
    /// docker-compose 1.29's naming for `project` deployed from `dir`.
    pub fn compose(project: &str, dir: &Path) -> Self {
        Self {
            networks: BTreeMap::from([(format!("{project}_default"), "<default>".to_owned())]),
            network_prefixes: vec![format!("{project}_")],
            volume_prefix: format!("{project}_"),
            project_dir: Some(dir.to_string_lossy().into_owned()),
            containers: BTreeMap::new(),
        }
    }

    /// SDMD's naming for `service` (project files under `dir`, when it has any).
    pub fn sdmd(service: &str, dir: Option<&Path>) -> Self {
        Self {
            networks: BTreeMap::from([(format!("sdmd_{service}"), "<default>".to_owned())]),
            network_prefixes: vec![format!("sdmd_{service}_"), format!("{service}_")],
            volume_prefix: format!("{service}_"),
            project_dir: dir.map(|d| d.to_string_lossy().into_owned()),
            containers: BTreeMap::new(),
        }
    }

    /// Registers a container of the deployment (from its inspect) under `member`.
    pub fn add_container(&mut self, inspect: &Value, member: &str) {
        let id = inspect["Id"].as_str().unwrap_or_default();
        let name = inspect["Name"].as_str().unwrap_or_default();
        for key in [id, short(id), name, name.trim_start_matches('/')] {
            if !key.is_empty() {
                self.containers.insert(key.to_owned(), member.to_owned());
            }
        }
    }

    fn network(&self, name: &str) -> String {
        if let Some(n) = self.networks.get(name) {
            return n.clone();
        }
        for p in &self.network_prefixes {
            if let Some(rest) = name.strip_prefix(p.as_str()) {
                return rest.to_owned();
            }
        }
        name.to_owned()
    }

    fn volume(&self, name: &str) -> String {
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return "<anon>".to_owned();
        }
        name.strip_prefix(self.volume_prefix.as_str())
            .unwrap_or(name)
            .to_owned()
    }

    fn container(&self, reference: &str) -> String {
        match self.containers.get(reference.trim_start_matches('/')) {
            Some(m) => format!("<container:{m}>"),
            None => reference.to_owned(),
        }
    }

    /// `container:<ref>` → `container:<container:member>`; network names for network modes.
    fn mode(&self, mode: &str, is_network: bool) -> String {
        match mode.split_once(':') {
            Some(("container", r)) => format!("container:{}", self.container(r)),
            _ if is_network && !matches!(mode, "" | "default" | "bridge" | "host" | "none") => {
                self.network(mode)
            }
            _ => mode.to_owned(),
        }
    }

    fn bind_source(&self, source: &str) -> String {
        if source.starts_with('/') {
            if let Some(dir) = &self.project_dir {
                if source == dir {
                    return ".".to_owned();
                }
                if let Some(rest) = source.strip_prefix(&format!("{}/", dir.trim_end_matches('/')))
                {
                    return format!("./{rest}");
                }
            }
            source.to_owned()
        } else {
            self.volume(source)
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Mode flags without the default `rw`, sorted (`"z,rw"` → `"z"`).
fn mode_flags(mode: &str) -> String {
    let mut flags: Vec<&str> = mode
        .split(',')
        .filter(|f| !f.is_empty() && *f != "rw")
        .collect();
    flags.sort_unstable();
    flags.join(",")
}

/// Removes `null`, `[]` and `{}` values from maps, recursively.
pub fn prune(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, prune(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(prune).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn sorted(v: Option<&Value>) -> Value {
    let mut items = v.and_then(Value::as_array).cloned().unwrap_or_default();
    items.sort_by_key(Value::to_string);
    Value::Array(items)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// The comparable parts of one container's inspect.
pub fn normalise(inspect: &Value, naming: &Naming) -> Value {
    let id = inspect["Id"].as_str().unwrap_or_default();
    let mut out = Map::new();
    out.insert("Config".into(), config(inspect, naming));
    out.insert(
        "HostConfig".into(),
        host_config(&inspect["HostConfig"], naming),
    );
    out.insert("Mounts".into(), mounts(&inspect["Mounts"], naming));
    let mac_configured = inspect["Config"]["MacAddress"]
        .as_str()
        .is_some_and(|m| !m.is_empty());
    let mut networks = Map::new();
    if let Some(nets) = inspect["NetworkSettings"]["Networks"].as_object() {
        for (name, ep) in nets {
            networks.insert(
                naming.network(name),
                endpoint(ep, id, mac_configured, naming),
            );
        }
    }
    out.insert("Networks".into(), Value::Object(networks));
    prune(Value::Object(out))
}

fn config(inspect: &Value, naming: &Naming) -> Value {
    let mut c = inspect["Config"].as_object().cloned().unwrap_or_default();
    c.remove("Volumes");
    let mut env = strings(c.get("Env"));
    env.sort();
    c.insert("Env".into(), json!(env));
    if let Some(labels) = c.get_mut("Labels").and_then(Value::as_object_mut) {
        labels.retain(|k, _| !k.starts_with("com.docker.compose.") && !k.starts_with("io.sdmd."));
    }
    // The default hostname is a container's short id: its own (dropped) or, when sharing another
    // container's network namespace, that container's.
    let own = short(inspect["Id"].as_str().unwrap_or_default()).to_owned();
    if let Some(h) = c.get("Hostname").and_then(Value::as_str).map(str::to_owned) {
        if h == own {
            c.remove("Hostname");
        } else if naming.containers.contains_key(&h) {
            c.insert("Hostname".into(), json!(naming.container(&h)));
        }
    }
    Value::Object(c)
}

fn host_config(hc: &Value, naming: &Naming) -> Value {
    let mut h = hc.as_object().cloned().unwrap_or_default();
    h.remove("ContainerIDFile");
    if let Some(m) = h.get("NetworkMode").and_then(Value::as_str) {
        let m = naming.mode(m, true);
        h.insert("NetworkMode".into(), json!(m));
    }
    for key in [
        "PidMode",
        "IpcMode",
        "UTSMode",
        "UsernsMode",
        "CgroupnsMode",
        "Cgroup",
    ] {
        if let Some(m) = h.get(key).and_then(Value::as_str) {
            let m = naming.mode(m, false);
            h.insert(key.into(), json!(m));
        }
    }
    let mut binds: Vec<String> = strings(h.get("Binds"))
        .iter()
        .map(|b| {
            let mut parts = b.splitn(3, ':');
            let src = naming.bind_source(parts.next().unwrap_or_default());
            let dst = parts.next().unwrap_or_default();
            match parts.next().map(mode_flags) {
                Some(m) if !m.is_empty() => format!("{src}:{dst}:{m}"),
                _ => format!("{src}:{dst}"),
            }
        })
        .collect();
    binds.sort();
    h.insert("Binds".into(), json!(binds));
    let mut links: Vec<String> = strings(h.get("Links"))
        .iter()
        .map(|l| match l.split_once(':') {
            Some((c, alias)) => format!("{}:{alias}", naming.container(c)),
            None => naming.container(l),
        })
        .collect();
    links.sort();
    h.insert("Links".into(), json!(links));
    let volumes_from: Vec<String> = strings(h.get("VolumesFrom"))
        .iter()
        .map(|v| match v.split_once(':') {
            Some((c, mode)) => format!("{}:{mode}", naming.container(c)),
            None => naming.container(v),
        })
        .collect();
    h.insert("VolumesFrom".into(), json!(volumes_from));
    for key in [
        "CapAdd",
        "CapDrop",
        "SecurityOpt",
        "GroupAdd",
        "ExtraHosts",
        "Devices",
        "Ulimits",
    ] {
        let s = sorted(h.get(key));
        h.insert(key.into(), s);
    }
    if let Some(ports) = h.get_mut("PortBindings").and_then(Value::as_object_mut) {
        for bindings in ports.values_mut() {
            *bindings = sorted(Some(bindings));
        }
    }
    if let Some(r) = h.get_mut("RestartPolicy").and_then(Value::as_object_mut)
        && r.get("Name").and_then(Value::as_str) == Some("")
    {
        r.insert("Name".into(), json!("no"));
    }
    if let Some(ms) = h.get_mut("Mounts").and_then(Value::as_array_mut) {
        for m in ms.iter_mut() {
            let src = m["Source"].as_str().unwrap_or_default();
            let src = if m["Type"] == "bind" {
                naming.bind_source(src)
            } else {
                naming.volume(src)
            };
            m["Source"] = json!(src);
        }
        // A set to the engine; docker-compose 1.29 orders it from a Python dict, so it varies.
        ms.sort_by_key(|m| m["Target"].to_string());
    }
    Value::Object(h)
}

fn mounts(ms: &Value, naming: &Naming) -> Value {
    let mut out: Vec<Value> = ms
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let mut o = m.as_object().cloned().unwrap_or_default();
            let source = if m["Type"] == "volume" {
                naming.volume(m["Name"].as_str().unwrap_or_default())
            } else {
                naming.bind_source(m["Source"].as_str().unwrap_or_default())
            };
            o.remove("Name");
            o.insert("Source".into(), json!(source));
            let mode = mode_flags(m["Mode"].as_str().unwrap_or_default());
            o.insert("Mode".into(), json!(mode));
            Value::Object(o)
        })
        .collect();
    out.sort_by_key(|m| m["Destination"].to_string());
    Value::Array(out)
}

fn endpoint(ep: &Value, id: &str, mac_configured: bool, naming: &Naming) -> Value {
    let mut aliases: Vec<String> = strings(ep.get("Aliases"))
        .into_iter()
        .filter(|a| a != short(id) && a != id)
        .collect();
    aliases.sort();
    let mut links: Vec<String> = strings(ep.get("Links"))
        .iter()
        .map(|l| match l.split_once(':') {
            Some((c, alias)) => format!("{}:{alias}", naming.container(c)),
            None => naming.container(l),
        })
        .collect();
    links.sort();
    let mut out = json!({
        "Aliases": aliases,
        "IPAMConfig": ep["IPAMConfig"].clone(),
        "Links": links,
        "DriverOpts": ep["DriverOpts"].clone(),
    });
    if mac_configured {
        out["MacAddress"] = ep["MacAddress"].clone();
    }
    out
}

/// One field that differs: its path, compose's value and SDMD's (`null` = absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub compose: Value,
    pub sdmd: Value,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Value| {
            if v.is_null() {
                "(absent)".to_owned()
            } else {
                v.to_string()
            }
        };
        write!(
            f,
            "{}: compose {} | sdmd {}",
            self.path,
            show(&self.compose),
            show(&self.sdmd)
        )
    }
}

/// Every leaf that differs between two normalised values, by path (`HostConfig.CapAdd[0]`).
/// Lists of different lengths are reported as a whole (they are short).
pub fn diff(compose: &Value, sdmd: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    walk("", compose, sdmd, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Difference>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (ea, eb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), ea, eb, out);
            }
        }
        _ if a == b => {}
        _ => out.push(Difference {
            path: path.to_owned(),
            compose: a.clone(),
            sdmd: b.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_C: &str = "ad7fc1668c19aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const ID_S: &str = "0123456789abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const ANON: &str = "d8407ab7dae0283e23156d36bb3e1c53ac7d5546f077f934b07895e27cff6bc3";

    fn compose_naming() -> Naming {
        let mut n = Naming::compose("proj", Path::new("/tmp/projdir"));
        n.add_container(&json!({"Id": ID_C, "Name": "/proj_db_1"}), "db");
        n
    }

    fn sdmd_naming() -> Naming {
        let mut n = Naming::sdmd("svc", None);
        n.add_container(&json!({"Id": ID_S, "Name": "/svc-db"}), "db");
        n
    }

    /// Normalises `input` with compose's naming (project `proj` in `/tmp/projdir`) and checks the
    /// given top-level section.
    fn check(section: &str, input: Value, expected: Value) {
        let mut doc = json!({"Id": ID_C, "Config": {}, "HostConfig": {}, "Mounts": []});
        if section == "Networks" {
            doc["NetworkSettings"] = json!({"Networks": input});
        } else {
            doc[section] = input;
        }
        let got = normalise(&doc, &compose_naming());
        assert_eq!(got[section], expected, "normalising {section}");
    }

    #[test]
    fn config_rules() {
        check(
            "Config",
            json!({
                "Hostname": "ad7fc1668c19", "Env": ["B=2", "A=1"], "Cmd": ["b", "a"],
                "Volumes": {"/data": {}}, "Entrypoint": null, "ExposedPorts": {},
                "Labels": {"com.docker.compose.project": "proj", "io.sdmd.member": "db", "tier": "db"},
                "Tty": false,
            }),
            json!({"Env": ["A=1", "B=2"], "Cmd": ["b", "a"], "Labels": {"tier": "db"}, "Tty": false}),
        );
        check(
            "Config",
            json!({"Hostname": "mail"}),
            json!({"Hostname": "mail"}),
        );
    }

    #[test]
    fn host_config_rules() {
        check(
            "HostConfig",
            json!({
                "Binds": ["proj_data:/data:rw", "/tmp/projdir/conf:/conf:ro", "/etc/localtime:/etc/localtime:ro,z"],
                "NetworkMode": "proj_default", "ContainerIDFile": "", "CapAdd": ["SYS_ADMIN", "NET_ADMIN"],
                "Dns": ["9.9.9.9", "1.1.1.1"], "PortBindings": {"80/tcp": [{"HostPort": "81"}, {"HostPort": "80"}]},
                "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}, "Links": null, "ShmSize": 67108864,
                "PidMode": "container:ad7fc1668c19",
            }),
            json!({
                "Binds": ["./conf:/conf:ro", "/etc/localtime:/etc/localtime:ro,z", "data:/data"],
                "NetworkMode": "<default>", "CapAdd": ["NET_ADMIN", "SYS_ADMIN"], "Dns": ["9.9.9.9", "1.1.1.1"],
                "PortBindings": {"80/tcp": [{"HostPort": "80"}, {"HostPort": "81"}]},
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "ShmSize": 67108864,
                "PidMode": "container:<container:db>",
            }),
        );
        check(
            "HostConfig",
            json!({"NetworkMode": "container:ad7fc1668c19aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}),
            json!({"NetworkMode": "container:<container:db>"}),
        );
        check(
            "HostConfig",
            json!({"NetworkMode": "proj_backend"}),
            json!({"NetworkMode": "backend"}),
        );
    }

    #[test]
    fn mount_rules() {
        check(
            "Mounts",
            json!([
                {"Type": "volume", "Name": "proj_data", "Source": "/var/lib/docker/volumes/proj_data/_data",
                 "Destination": "/data", "Driver": "local", "Mode": "rw", "RW": true, "Propagation": ""},
                {"Type": "volume", "Name": ANON, "Source": format!("/var/lib/docker/volumes/{ANON}/_data"),
                 "Destination": "/cache", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""},
                {"Type": "bind", "Source": "/tmp/projdir/config", "Destination": "/config",
                 "Mode": "ro", "RW": false, "Propagation": "rprivate"},
            ]),
            json!([
                {"Type": "volume", "Source": "<anon>", "Destination": "/cache", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""},
                {"Type": "bind", "Source": "./config", "Destination": "/config", "Mode": "ro", "RW": false, "Propagation": "rprivate"},
                {"Type": "volume", "Source": "data", "Destination": "/data", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""},
            ]),
        );
    }

    #[test]
    fn network_rules() {
        check(
            "Networks",
            json!({
                "proj_default": {"Aliases": ["db", "ad7fc1668c19"], "IPAMConfig": null, "NetworkID": "x",
                                 "IPAddress": "172.18.0.2", "MacAddress": "02:42:ac:12:00:02", "Links": null},
                "proj_backend": {"Aliases": ["db", "db.internal"], "IPAMConfig": {"IPv4Address": "172.31.0.10"}},
            }),
            json!({
                "<default>": {"Aliases": ["db"]},
                "backend": {"Aliases": ["db", "db.internal"], "IPAMConfig": {"IPv4Address": "172.31.0.10"}},
            }),
        );
    }

    #[test]
    fn the_two_namings_meet_and_real_differences_remain() {
        let compose = json!({
            "Id": ID_C, "Config": {"Hostname": "ad7fc1668c19", "Env": ["A=1"],
                "Labels": {"com.docker.compose.service": "db"}},
            "HostConfig": {"Binds": ["proj_data:/data:rw"], "NetworkMode": "proj_default", "CapAdd": ["NET_ADMIN"],
                "PortBindings": {}},
            "Mounts": [{"Type": "volume", "Name": "proj_data", "Destination": "/data", "Mode": "rw", "RW": true}],
            "NetworkSettings": {"Networks": {"proj_default": {"Aliases": ["ad7fc1668c19", "db"]}}},
        });
        let sdmd = json!({
            "Id": ID_S, "Config": {"Hostname": "0123456789ab", "Env": ["A=1"],
                "Labels": {"io.sdmd.member": "db", "io.sdmd.service": "svc"}},
            "HostConfig": {"Binds": ["svc_data:/data"], "NetworkMode": "sdmd_svc", "CapAdd": null,
                "PortBindings": null},
            "Mounts": [{"Type": "volume", "Name": "svc_data", "Destination": "/data", "Mode": "", "RW": true}],
            "NetworkSettings": {"Networks": {"sdmd_svc": {"Aliases": ["db"]}}},
        });
        let d = diff(
            &normalise(&compose, &compose_naming()),
            &normalise(&sdmd, &sdmd_naming()),
        );
        assert_eq!(
            d,
            vec![Difference {
                path: "HostConfig.CapAdd".into(),
                compose: json!(["NET_ADMIN"]),
                sdmd: Value::Null,
            }],
            "only the capability is a real difference"
        );
        assert_eq!(
            d[0].to_string(),
            r#"HostConfig.CapAdd: compose ["NET_ADMIN"] | sdmd (absent)"#
        );
    }

    #[test]
    fn diff_reports_leaves_by_path() {
        let d = diff(
            &json!({"A": {"B": [1, 2], "C": "x"}, "L": [1]}),
            &json!({"A": {"B": [1, 3], "D": true}, "L": [1, 2]}),
        );
        let paths: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            [
                "A.B[1]: compose 2 | sdmd 3",
                "A.C: compose \"x\" | sdmd (absent)",
                "A.D: compose (absent) | sdmd true",
                "L: compose [1] | sdmd [1,2]",
            ]
        );
        assert!(diff(&json!({"A": [1]}), &json!({"A": [1]})).is_empty());
    }
}
