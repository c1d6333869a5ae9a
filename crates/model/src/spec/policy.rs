//! The definition policy (`SDMD_POLICY`, opt-in): what no service may do on this host, checked
//! when a definition is stored and again before every deploy. Off by default — every SDMD user is
//! an administrator (PRD), and an administrator can reach the Docker socket anyway — it is defence
//! in depth for shared teams: a definition that would give its containers the host is refused
//! with a 422 naming each field and the rule.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::{Definition, Mount, Problem};

/// What the policy forbids. Every rule is off unless set; unknown keys are an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// No `privileged: true`, and no `security_opt` that turns a confinement off
    /// (`seccomp=unconfined`, `apparmor=unconfined`, `label=disable`, `systempaths=unconfined`).
    #[serde(default)]
    pub forbid_privileged: bool,
    /// No host namespaces: `network_mode: host`, `pid: host`, `ipc: host`, `uts: host`,
    /// `userns_mode: host`, `cgroup: host`.
    #[serde(default)]
    pub forbid_host_namespaces: bool,
    /// No bind mount of the Docker socket (any path whose file name is `docker.sock`, or
    /// `/var/run/docker.sock` and `/run/docker.sock` themselves, or their directories).
    #[serde(default)]
    pub forbid_docker_socket: bool,
    /// No `devices` and no `device_cgroup_rules`.
    #[serde(default)]
    pub forbid_devices: bool,
    /// Host paths bind mounts (and local volumes with `o: bind`) may use: absolute directories;
    /// a bind must lie inside one of them. The service's own project directory is always allowed.
    /// Empty (the default): any host path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_bind_roots: Vec<String>,
    /// Capabilities `cap_add` may name (`NET_ADMIN`, with or without `CAP_`); `None` (the
    /// default): any. `ALL` must be listed to be allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_capabilities: Option<Vec<String>>,
}

impl Policy {
    /// Whether any rule is on.
    pub fn is_active(&self) -> bool {
        self != &Self::default()
    }

    /// Checks the policy's own values (absolute roots, no `..`).
    pub fn validate(&self) -> Result<(), String> {
        for root in &self.allowed_bind_roots {
            let p = Path::new(root);
            if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
                return Err(format!(
                    "allowed_bind_roots: `{root}` must be an absolute path without `..`"
                ));
            }
        }
        Ok(())
    }

    /// Every way `def` breaks the policy, by field. `project_dir` is the service's project
    /// directory (always an allowed bind root).
    pub fn check(&self, def: &Definition, project_dir: &Path) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut deny = |field: String, message: String| out.push(Problem { field, message });
        for (name, m) in &def.services {
            let at = |f: &str| format!("services.{name}.{f}");
            let rt = &m.runtime;
            if self.forbid_privileged {
                if rt.privileged == Some(true) {
                    deny(at("privileged"), "privileged containers are forbidden by the host's policy (SDMD_POLICY forbid_privileged)".into());
                }
                for (i, o) in rt.security_opt.iter().enumerate() {
                    if unconfines(o) {
                        deny(
                            format!("services.{name}.security_opt[{i}]"),
                            format!(
                                "`{o}` turns a confinement off, which the host's policy forbids (SDMD_POLICY forbid_privileged)"
                            ),
                        );
                    }
                }
            }
            if self.forbid_host_namespaces {
                for (field, value) in [
                    ("network_mode", m.network.network_mode.as_deref()),
                    ("pid", rt.pid.as_deref()),
                    ("ipc", rt.ipc.as_deref()),
                    ("uts", rt.uts.as_deref()),
                    ("userns_mode", rt.userns_mode.as_deref()),
                    ("cgroup", rt.cgroup.as_deref()),
                ] {
                    if value == Some("host") {
                        deny(
                            at(field),
                            format!(
                                "`{field}: host` shares the host's namespace, which the host's policy forbids (SDMD_POLICY forbid_host_namespaces)"
                            ),
                        );
                    }
                }
            }
            if self.forbid_devices {
                if !rt.devices.is_empty() {
                    deny(
                        at("devices"),
                        "devices are forbidden by the host's policy (SDMD_POLICY forbid_devices)"
                            .into(),
                    );
                }
                if !rt.device_cgroup_rules.is_empty() {
                    deny(at("device_cgroup_rules"), "device cgroup rules are forbidden by the host's policy (SDMD_POLICY forbid_devices)".into());
                }
            }
            if let Some(allowed) = &self.allowed_capabilities {
                let norm = |c: &str| c.trim_start_matches("CAP_").to_ascii_uppercase();
                let allowed: Vec<String> = allowed.iter().map(|c| norm(c)).collect();
                for (i, c) in rt.cap_add.iter().enumerate() {
                    if !allowed.contains(&norm(c)) {
                        deny(
                            format!("services.{name}.cap_add[{i}]"),
                            format!(
                                "capability `{c}` is not among those the host's policy allows ({}; SDMD_POLICY allowed_capabilities)",
                                if allowed.is_empty() {
                                    "none".to_owned()
                                } else {
                                    allowed.join(", ")
                                }
                            ),
                        );
                    }
                }
            }
            for (i, v) in m.volumes.iter().enumerate() {
                if let Ok(Mount::Bind { source, .. }) = v.mount() {
                    self.check_host_path(
                        &source,
                        project_dir,
                        format!("services.{name}.volumes[{i}]"),
                        &mut deny,
                    );
                }
            }
        }
        // Local volumes that bind a host directory (`driver_opts: {o: bind, device: /x}`).
        for (key, decl) in &def.volumes {
            let binds = decl
                .driver_opts
                .get("o")
                .is_some_and(|o| o.split(',').any(|x| matches!(x.trim(), "bind" | "rbind")));
            if let Some(device) = decl.driver_opts.get("device").filter(|_| binds) {
                self.check_host_path(
                    device,
                    project_dir,
                    format!("volumes.{key}.driver_opts.device"),
                    &mut deny,
                );
            }
        }
        for (section, decls) in [("secrets", &def.secrets), ("configs", &def.configs)] {
            for (key, decl) in decls {
                if let Some(file) = &decl.file {
                    self.check_host_path(
                        file,
                        project_dir,
                        format!("{section}.{key}.file"),
                        &mut deny,
                    );
                }
            }
        }
        out
    }

    fn check_host_path(
        &self,
        source: &str,
        project_dir: &Path,
        field: String,
        deny: &mut impl FnMut(String, String),
    ) {
        let path = super::lexical_path(Path::new(source));
        if self.forbid_docker_socket && is_docker_socket(&path) {
            deny(
                field.clone(),
                format!(
                    "`{source}` exposes the Docker socket, which the host's policy forbids (SDMD_POLICY forbid_docker_socket)"
                ),
            );
        }
        if self.allowed_bind_roots.is_empty() {
            return;
        }
        let inside = |root: &Path| path.starts_with(super::lexical_path(root));
        if !inside(project_dir) && !self.allowed_bind_roots.iter().any(|r| inside(Path::new(r))) {
            deny(
                field,
                format!(
                    "`{source}` is outside the host paths the policy allows ({} and the service's project directory; SDMD_POLICY allowed_bind_roots)",
                    self.allowed_bind_roots.join(", ")
                ),
            );
        }
    }
}

/// `seccomp=unconfined`, `apparmor=unconfined`, `label=disable`, `systempaths=unconfined`
/// (also in the `key:value` spelling).
fn unconfines(opt: &str) -> bool {
    let o = opt.replace(':', "=").to_ascii_lowercase();
    matches!(
        o.as_str(),
        "seccomp=unconfined" | "apparmor=unconfined" | "label=disable" | "systempaths=unconfined"
    )
}

fn is_docker_socket(path: &Path) -> bool {
    let sockets = [
        Path::new("/var/run/docker.sock"),
        Path::new("/run/docker.sock"),
    ];
    path.file_name().is_some_and(|n| n == "docker.sock")
        || sockets.iter().any(|s| s.starts_with(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(v: serde_json::Value) -> Definition {
        super::super::parse(&v).expect("valid")
    }

    #[test]
    fn off_by_default_allows_everything() {
        let d = def(json!({"name": "p", "services": {"m": {
            "image": "x", "privileged": true, "network_mode": "host",
            "volumes": ["/var/run/docker.sock:/var/run/docker.sock"], "devices": ["/dev/fuse"],
            "cap_add": ["SYS_ADMIN"]
        }}}));
        assert!(!Policy::default().is_active());
        assert!(
            Policy::default()
                .check(&d, Path::new("/srv/stacks/p"))
                .is_empty()
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let d = def(json!({"name": "p", "services": {"m": {
            "image": "x", "privileged": true, "pid": "host", "network_mode": "host",
            "security_opt": ["seccomp:unconfined", "no-new-privileges:true"],
            "volumes": ["/var/run:/host-run", "/srv/media:/media", "/etc:/host-etc:ro"],
            "devices": ["/dev/fuse"], "device_cgroup_rules": ["c 10:229 rwm"],
            "cap_add": ["NET_ADMIN", "CAP_SYS_ADMIN"]
        }}, "volumes": {"nfs": {"driver_opts": {"type": "none", "o": "bind", "device": "/root"}}}}));
        let policy = Policy {
            forbid_privileged: true,
            forbid_host_namespaces: true,
            forbid_docker_socket: true,
            forbid_devices: true,
            allowed_bind_roots: vec!["/srv".into()],
            allowed_capabilities: Some(vec!["net_admin".into()]),
        };
        policy.validate().expect("valid policy");
        let dir = Path::new("/srv/stacks/p");
        let fields: Vec<String> = policy.check(&d, dir).into_iter().map(|p| p.field).collect();
        for f in [
            "services.m.privileged",
            "services.m.security_opt[0]",
            "services.m.pid",
            "services.m.network_mode",
            "services.m.volumes[0]",
            "services.m.volumes[2]",
            "services.m.devices",
            "services.m.device_cgroup_rules",
            "services.m.cap_add[1]",
            "volumes.nfs.driver_opts.device",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
        }
        // The socket's directory counts as the socket; /srv/media is inside the allowed root.
        assert_eq!(
            fields
                .iter()
                .filter(|f| *f == "services.m.volumes[0]")
                .count(),
            2
        );
        assert!(
            !fields.iter().any(|f| f == "services.m.volumes[1]"),
            "{fields:?}"
        );
        assert!(
            !fields.iter().any(|f| f == "services.m.cap_add[0]"),
            "{fields:?}"
        );
        assert!(
            !fields.iter().any(|f| f == "services.m.security_opt[1]"),
            "{fields:?}"
        );
    }

    #[test]
    fn project_directory_and_escapes() {
        let d = def(
            json!({"name": "p", "services": {"m": {"image": "x", "volumes": [
                "/srv/stacks/p/data:/data", "/srv/stacks/p/../../../etc:/etc2"
            ]}}}),
        );
        let policy = Policy {
            allowed_bind_roots: vec!["/opt/media".into()],
            ..Policy::default()
        };
        let fields: Vec<String> = policy
            .check(&d, Path::new("/srv/stacks/p"))
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["services.m.volumes[1]"]);
        assert!(
            Policy {
                allowed_bind_roots: vec!["srv".into()],
                ..Policy::default()
            }
            .validate()
            .is_err()
        );
        let err = serde_json::from_value::<Policy>(json!({"forbid_everything": true}));
        assert!(err.is_err());
    }
}
