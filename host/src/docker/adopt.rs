//! Reads a running container back into a member definition, minus what its image already sets:
//! `docker inspect` freezes image defaults (PATH, image labels, CMD) into the container, and
//! copying them would pin the service to the old image's settings after an update.

use bollard::models::{ContainerInspectResponse, HealthConfig, ImageInspect};
use indexmap::IndexMap;

use crate::spec::network::NetworkDecl;
use crate::spec::{Healthcheck, Member, VolumeDecl};

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
    /// Settings of the container a definition cannot express (`path=value`): a deploy of the
    /// adopted definition would not reproduce them.
    pub lost: Vec<String>,
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

pub(super) fn from_inspect(
    image_ref: &str,
    c: ContainerInspectResponse,
    image: Option<ImageInspect>,
) -> Adopted {
    // The group modules read what they need from the whole inspect.
    let network = super::create::network::adopt(&c, image.as_ref());
    let runtime = super::create::runtime::adopt(&c, image.as_ref());
    let lost = super::create::runtime::unexpressible(&c);
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

    let command = config
        .cmd
        .filter(|c| Some(c) != img.cmd.as_ref() && !c.is_empty());
    let entrypoint = config
        .entrypoint
        .filter(|e| Some(e) != img.entrypoint.as_ref() && !e.is_empty());
    let healthcheck = config
        .healthcheck
        .filter(|h| Some(h) != img.healthcheck.as_ref())
        .and_then(|h: HealthConfig| {
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
        });

    let mut volumes: Vec<(String, VolumeDecl)> = Vec::new();
    let mut mounts = Vec::new();
    for m in c.mounts.unwrap_or_default() {
        let dest = m.destination.unwrap_or_default();
        let ro = if m.rw == Some(false) { ":ro" } else { "" };
        match m.typ.as_deref() {
            Some("volume") => {
                let name = m.name.unwrap_or_default();
                // An anonymous volume has a 64-hex name. It holds data too: the definition refers
                // to it by name so the first deploy mounts it again instead of a new, empty one.
                let anonymous = name.len() == 64 && name.chars().all(|ch| ch.is_ascii_hexdigit());
                let key = if anonymous {
                    format!("{member}-{}", member_name_from(&dest))
                } else {
                    project
                        .as_deref()
                        .and_then(|p| name.strip_prefix(&format!("{p}_")))
                        .unwrap_or(&name)
                        .to_owned()
                };
                let key = unique_key(&volumes, key);
                mounts.push(format!("{key}:{dest}{ro}"));
                volumes.push((
                    key,
                    VolumeDecl {
                        name: Some(name),
                        external: true,
                        ..VolumeDecl::default()
                    },
                ));
            }
            Some("bind") => mounts.push(format!("{}:{dest}{ro}", m.source.unwrap_or_default())),
            _ => {}
        }
    }

    let mut ports = Vec::new();
    let mut bindings: Vec<_> = host.port_bindings.unwrap_or_default().into_iter().collect();
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

    let restart = host.restart_policy.and_then(|r| {
        let name = r.name?.to_string();
        match name.as_str() {
            "" | "no" => None,
            "on-failure" => Some(match r.maximum_retry_count.filter(|n| *n > 0) {
                Some(n) => format!("on-failure:{n}"),
                None => "on-failure".into(),
            }),
            _ => Some(name),
        }
    });

    Adopted {
        member,
        container_name: container_name.clone(),
        spec: Member {
            image: image_ref.to_owned(),
            container_name: Some(container_name),
            environment,
            volumes: mounts.into_iter().map(Into::into).collect(),
            ports: ports.into_iter().map(Into::into).collect(),
            profiles: Vec::new(),
            restart,
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
        let a = from_inspect("local/app:1", c, Some(img));
        assert_eq!(a.member, "my-app");
        assert_eq!(a.spec.environment.len(), 1);
        assert_eq!(a.spec.environment["GREETING"], "hi");
        assert_eq!(a.spec.command, None);
        assert_eq!(a.spec.labels.keys().collect::<Vec<_>>(), vec!["tier"]);
    }
}
