//! Turns a member of a stored definition into the engine's create-container body. Attribute
//! groups have their own modules (`network`, `runtime`), each with `apply` and `adopt`.

pub(crate) mod network;
pub(crate) mod runtime;

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};

use super::labels;
use crate::spec::{Definition, Mount, Restart, parse_duration_ns, parse_port};

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
    let mut lbls: HashMap<String, String> = m
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    lbls.insert(labels::SERVICE.into(), def.name.clone());
    lbls.insert(labels::MEMBER.into(), member.into());
    lbls.insert(labels::REVISION.into(), revision.to_string());
    lbls.insert(labels::CONFIG_HASH.into(), def.config_hash(member));

    let mut binds = Vec::new();
    let mut anonymous = Vec::new();
    for v in &m.volumes {
        match Mount::parse(v) {
            Ok(Mount::Named {
                volume,
                target,
                read_only,
            }) => {
                let ro = if read_only { ":ro" } else { "" };
                binds.push(format!("{}:{target}{ro}", def.volume_name(&volume)));
            }
            Ok(Mount::Bind {
                source,
                target,
                mode,
            }) => {
                binds.push(match mode {
                    Some(mode) => format!("{source}:{target}:{mode}"),
                    None => format!("{source}:{target}"),
                });
            }
            Ok(Mount::Anonymous { target }) => anonymous.push(target),
            Err(_) => {}
        }
    }
    let configured: Vec<String> = m
        .volumes
        .iter()
        .filter_map(|v| match Mount::parse(v).ok()? {
            Mount::Named { target, .. } | Mount::Bind { target, .. } => Some(target),
            Mount::Anonymous { .. } => None,
        })
        .collect();
    let declared: Vec<String> = def.volumes.keys().map(|v| def.volume_name(v)).collect();
    for (target, volume) in carried {
        if configured.contains(target) || declared.contains(volume) {
            continue;
        }
        anonymous.retain(|a| a != target);
        binds.push(format!("{volume}:{target}"));
    }

    let mut exposed = Vec::new();
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in m.ports.iter().filter_map(|p| parse_port(p).ok()).flatten() {
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
                host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
            });
    }

    let restart_policy = m
        .restart
        .as_deref()
        .and_then(|r| Restart::parse(r).ok())
        .map(|r| match r {
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
        });

    let healthcheck = m.healthcheck.as_ref().map(|h| {
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
            ..Default::default()
        }
    });

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
        labels: Some(lbls),
        healthcheck,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        volumes: (!anonymous.is_empty()).then_some(anonymous),
        host_config: Some(HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            restart_policy,
            init: m.init,
            ..Default::default()
        }),
        ..Default::default()
    };
    network::apply(def, member, peers, &mut body);
    runtime::apply(&m.runtime, &mut body);
    Some(body)
}
