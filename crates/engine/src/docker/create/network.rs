//! Maps a member's [`MemberNetwork`] onto the create body (and reads it back from inspect).

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointIpamConfig, EndpointSettings,
    ImageInspect, NetworkingConfig,
};
use indexmap::IndexMap;

use crate::docker::adopt::LostSetting;
use crate::spec::Definition;
use crate::spec::network::{Attachment, DEFAULT, MemberNetwork, NetworkDecl, NetworkMode};

/// The endpoint of `member` on a network it joins: its member name as an alias (members reach
/// each other by name, as compose's service name), then the declared aliases and addresses,
/// and its links.
pub(crate) fn endpoint(def: &Definition, member: &str, a: &Attachment) -> EndpointSettings {
    let mut aliases = vec![member.to_owned()];
    for al in &a.aliases {
        if !aliases.contains(al) {
            aliases.push(al.clone());
        }
    }
    let ipam =
        (a.ipv4_address.is_some() || a.ipv6_address.is_some() || !a.link_local_ips.is_empty())
            .then(|| EndpointIpamConfig {
                ipv4_address: a.ipv4_address.clone(),
                ipv6_address: a.ipv6_address.clone(),
                link_local_ips: (!a.link_local_ips.is_empty()).then(|| a.link_local_ips.clone()),
            });
    // As compose 1.29: each link names the target container by its alias (default: the member
    // name) and its container name (compose's `<service>_<n>` has no SDMD equivalent).
    let mut links = Vec::new();
    for (target, alias) in def
        .services
        .get(member)
        .map(|m| m.network.link_targets())
        .unwrap_or_default()
    {
        let cname = def.container_name(&target);
        for name in [alias, cname.clone()] {
            let l = format!("{cname}:{name}");
            if !links.contains(&l) {
                links.push(l);
            }
        }
    }
    EndpointSettings {
        mac_address: a.mac_address.clone(),
        links: (!links.is_empty()).then_some(links),
        aliases: Some(aliases),
        ipam_config: ipam,
        driver_opts: (!a.driver_opts.is_empty()).then(|| {
            a.driver_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        ..Default::default()
    }
}

/// `8000-8002/tcp` → `8000/tcp`, `8001/tcp`, `8002/tcp` (the engine wants single ports).
fn expand_expose(e: &str) -> Vec<String> {
    let (ports, proto) = e.split_once('/').unwrap_or((e, "tcp"));
    match ports.split_once('-') {
        Some((a, b)) => match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) => (a..=b).map(|p| format!("{p}/{proto}")).collect(),
            _ => Vec::new(),
        },
        None => vec![format!("{ports}/{proto}")],
    }
}

/// Applies `member`'s networking settings to `body`. `peers` are the container ids of members
/// already created in this deploy: `network_mode: service:X` joins X's container by id, as
/// compose does.
pub(crate) fn apply(
    def: &Definition,
    member: &str,
    peers: &HashMap<String, String>,
    body: &mut ContainerCreateBody,
) {
    let Some(m) = def.services.get(member) else {
        return;
    };
    let n = &m.network;
    body.hostname = n.hostname.clone();
    body.domainname = n.domainname.clone();
    if !n.expose.is_empty() {
        let exposed = body.exposed_ports.get_or_insert_with(Vec::new);
        for p in n.expose.iter().flat_map(|e| expand_expose(e)) {
            if !exposed.contains(&p) {
                exposed.push(p);
            }
        }
    }
    let hc = body.host_config.get_or_insert_with(Default::default);
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    hc.dns = list(&n.dns);
    hc.dns_search = list(&n.dns_search);
    hc.dns_options = list(&n.dns_opt);
    hc.extra_hosts = list(&n.extra_hosts);
    let mode = match n.mode() {
        None => None,
        Some(NetworkMode::Bridge) => Some("bridge".to_owned()),
        Some(NetworkMode::Host) => Some("host".to_owned()),
        Some(NetworkMode::None) => Some("none".to_owned()),
        Some(NetworkMode::Service(x)) => Some(format!(
            "container:{}",
            peers
                .get(&x)
                .cloned()
                .unwrap_or_else(|| def.container_name(&x))
        )),
        Some(NetworkMode::Container(c)) => Some(format!("container:{c}")),
    };
    match mode {
        Some(mode) => {
            // `network_mode: bridge` with a MAC address: on the engine's bridge endpoint.
            body.networking_config = n.mac_address.as_ref().map(|mac| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    mode.clone(),
                    EndpointSettings {
                        mac_address: Some(mac.clone()),
                        ..Default::default()
                    },
                )])),
            });
            hc.network_mode = Some(mode);
        }
        None => {
            // API 1.41 takes one network at create: the highest-priority one. The others are
            // connected before the container starts (see `secondary`).
            let Some((key, a)) = n.joined().into_iter().next() else {
                return;
            };
            let name = def.network_docker_name(&key);
            hc.network_mode = Some(name.clone());
            // The member's `mac_address` is its MAC on the network it is created on (compose
            // v2's rule). On Engine API < 1.44 the client moves it to `Config.MacAddress`, where
            // those engines read it (see `docker::mac_address_before_1_44`).
            let mut ep = endpoint(def, member, &a);
            ep.mac_address = ep.mac_address.or_else(|| n.mac_address.clone());
            body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(name, ep)])),
            });
        }
    }
}

/// The networks `member` joins after create (all but the first), as (Docker name, endpoint).
pub(crate) fn secondary(def: &Definition, member: &str) -> Vec<(String, EndpointSettings)> {
    def.services
        .get(member)
        .map(|m| {
            m.network
                .joined()
                .into_iter()
                .skip(1)
                .map(|(k, a)| (def.network_docker_name(&k), endpoint(def, member, &a)))
                .collect()
        })
        .unwrap_or_default()
}

/// What adoption found about a container's networking.
pub(crate) struct AdoptedNetwork {
    /// The member's settings.
    pub spec: MemberNetwork,
    /// Networks it joins, as top-level declarations (all `external`: SDMD did not create them).
    pub decls: Vec<(String, NetworkDecl)>,
    /// Networking settings a definition cannot express.
    pub lost: Vec<LostSetting>,
}

/// The MAC address the engine gives an endpoint with this IPv4 address (engines before API
/// 1.48: `02:42` and the four address bytes).
fn mac_of_ip(ip: &str) -> Option<String> {
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let [a, b, c, d] = ip.octets();
    Some(format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}"))
}

/// The networking settings of an existing container, minus compose's and the engine's defaults.
///
/// Compose's `<project>_default` network becomes SDMD's `default`; a container on the engine's
/// `bridge` network alone keeps `network_mode: bridge` (on bridge and other networks, the bridge
/// attachment is reported lost: a definition cannot combine them); other networks are
/// referenced by name as `external`, so they are never removed. A `container:<id>` mode is kept
/// as is: the caller maps the id to a name or member. `macs_from_ip`: see
/// `docker::adopt::from_inspect`.
pub(crate) fn adopt(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
    macs_from_ip: bool,
) -> AdoptedNetwork {
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let labels = config.labels.clone().unwrap_or_default();
    let project = labels.get(super::super::labels::COMPOSE_PROJECT).cloned();
    let compose_service = labels.get(super::super::labels::COMPOSE_SERVICE).cloned();
    let id = c.id.clone().unwrap_or_default();
    let short_id: String = id.chars().take(12).collect();
    let container_name = c
        .name
        .clone()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    // The engine adds the short id and the host name as aliases itself.
    let hostname_alias = config.hostname.clone().unwrap_or_default();
    let raw_mode = host.network_mode.clone().unwrap_or_default();
    let mut spec = MemberNetwork::default();
    let mut decls = Vec::new();
    let mut lost = Vec::new();
    let shared = raw_mode.starts_with("container:");
    let mut nets: Vec<_> = c
        .network_settings
        .clone()
        .and_then(|s| s.networks)
        .unwrap_or_default()
        .into_iter()
        .collect();
    nets.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ep) in &nets {
        let field = format!("NetworkSettings.Networks.{name}");
        // A stopped container has no address: its MAC cannot be told from a generated one.
        let mac = ep.mac_address.clone().unwrap_or_default();
        let ip = ep.ip_address.clone().unwrap_or_default();
        if macs_from_ip && !mac.is_empty() && !ip.is_empty() && mac_of_ip(&ip) != Some(mac.clone())
        {
            // `--mac-address` applies to the network the container was created on, which is
            // what a member-level `mac_address` sets; one chosen on a network joined later
            // needs Engine API 1.44.
            let created_on = *name == raw_mode || (raw_mode == "default" && name == "bridge");
            if created_on && spec.mac_address.is_none() {
                spec.mac_address = Some(mac);
            } else {
                lost.push(LostSetting::new(
                    format!("{field}.MacAddress"),
                    mac,
                    "a MAC address on a network joined after create needs Engine API 1.44",
                ));
            }
        }
        if let Some(p) = ep.gw_priority.filter(|p| *p != 0) {
            lost.push(LostSetting::new(
                format!("{field}.GwPriority"),
                p.to_string(),
                "a gateway priority needs Engine API 1.48; SDMD targets 1.41",
            ));
        }
    }
    let on_bridge = nets.iter().any(|(n, _)| n == "bridge");
    match raw_mode.as_str() {
        "host" | "none" => spec.network_mode = Some(raw_mode.clone()),
        m if shared => spec.network_mode = Some(m.to_owned()),
        // The engine's default network, alone (`default` is what `docker run` records for it).
        "default" | "bridge" | "" if on_bridge && nets.len() == 1 => {
            spec.network_mode = Some("bridge".to_owned())
        }
        _ => {
            let mut attachments = IndexMap::new();
            for (name, ep) in nets {
                if name == "bridge" {
                    lost.push(LostSetting::new(
                        "NetworkSettings.Networks.bridge",
                        "joined",
                        "the engine's default bridge network together with other networks: a definition joins it only as `network_mode: bridge`, which excludes `networks`",
                    ));
                    continue;
                }
                let default = project
                    .as_deref()
                    .is_some_and(|p| name == format!("{p}_default"));
                let key = if default {
                    DEFAULT.to_owned()
                } else {
                    project
                        .as_deref()
                        .and_then(|p| name.strip_prefix(&format!("{p}_")))
                        .unwrap_or(&name)
                        .to_owned()
                };
                let aliases = ep
                    .aliases
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| {
                        *a != short_id
                            && *a != hostname_alias
                            && *a != container_name
                            && Some(a) != compose_service.as_ref()
                    })
                    .collect();
                // Links are kept as `<container>:<alias>`; the caller maps container names of
                // the same group to members (see `ops::adopt`).
                for l in ep.links.clone().unwrap_or_default() {
                    let l = l.trim_start_matches('/').to_owned();
                    if !spec.links.contains(&l) {
                        spec.links.push(l);
                    }
                }
                let ipam = ep.ipam_config.unwrap_or_default();
                let a = Attachment {
                    aliases,
                    ipv4_address: ipam.ipv4_address.filter(|s| !s.is_empty()),
                    ipv6_address: ipam.ipv6_address.filter(|s| !s.is_empty()),
                    link_local_ips: ipam.link_local_ips.unwrap_or_default(),
                    priority: None,
                    driver_opts: ep.driver_opts.unwrap_or_default().into_iter().collect(),
                    // Inspect shows the MAC the engine picked too: whether one was configured
                    // cannot be told from it, so none is (the engine picks a new one).
                    mac_address: None,
                };
                if !default {
                    decls.push((
                        key.clone(),
                        NetworkDecl {
                            external: true,
                            name: Some(name.clone()),
                            ..NetworkDecl::default()
                        },
                    ));
                }
                attachments.insert(key, a);
            }
            // Only the default network, plainly: that is what an empty `networks` means.
            let only_default = attachments.len() == 1
                && attachments
                    .get(DEFAULT)
                    .is_some_and(|a| *a == Attachment::default());
            if !only_default {
                spec.networks = attachments;
            }
        }
    }
    // With a shared stack these belong to the other container; in host mode the engine fills
    // in the host's name, which cannot be told apart from a chosen one.
    if !shared && raw_mode != "host" {
        spec.hostname = config
            .hostname
            .clone()
            .filter(|h| !h.is_empty() && *h != short_id);
        spec.domainname = config.domainname.clone().filter(|d| !d.is_empty());
    }
    if !shared {
        spec.dns = host.dns.clone().unwrap_or_default();
        spec.dns_search = host.dns_search.clone().unwrap_or_default();
        spec.dns_opt = host.dns_options.clone().unwrap_or_default();
        spec.extra_hosts = host.extra_hosts.clone().unwrap_or_default();
        let image_exposed = image
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.exposed_ports.clone())
            .unwrap_or_default();
        let published = host.port_bindings.clone().unwrap_or_default();
        let mut expose: Vec<String> = config
            .exposed_ports
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !image_exposed.contains(p) && !published.contains_key(p))
            .collect();
        expose.sort();
        spec.expose = expose;
    }
    AdoptedNetwork { spec, decls, lost }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, HostConfig, NetworkSettings};

    fn def(doc: serde_json::Value) -> Definition {
        crate::spec::parse(&doc).expect("valid")
    }

    #[test]
    fn mac_address_on_the_create_endpoint() {
        let d = def(serde_json::json!({
            "name": "m",
            "services": {
                "a": {"image": "x", "mac_address": "02:42:ac:11:65:43"},
                "b": {"image": "x", "networks": {"front": {"priority": 10, "mac_address": "02:00:00:00:00:01"}, "back": {"mac_address": "02:00:00:00:00:02"}}},
                "c": {"image": "x", "network_mode": "bridge", "mac_address": "02:00:00:00:00:03"}
            },
            "networks": {"front": {}, "back": {}}
        }));
        let eps = |m: &str| {
            let mut body = ContainerCreateBody::default();
            apply(&d, m, &HashMap::new(), &mut body);
            body.networking_config
                .and_then(|n| n.endpoints_config)
                .unwrap_or_default()
        };
        assert_eq!(
            eps("a")["sdmd_m"].mac_address.as_deref(),
            Some("02:42:ac:11:65:43")
        );
        assert_eq!(
            eps("b")["m_front"].mac_address.as_deref(),
            Some("02:00:00:00:00:01")
        );
        assert_eq!(
            eps("c")["bridge"].mac_address.as_deref(),
            Some("02:00:00:00:00:03")
        );
        let second = secondary(&d, "b");
        assert_eq!(
            second[0].1.mac_address.as_deref(),
            Some("02:00:00:00:00:02")
        );
        assert_eq!(
            d.engine_requirements(),
            vec![("services.b.networks.back.mac_address".to_string(), "1.44")],
            "before 1.44 only the create network's MAC can be set"
        );
    }

    #[test]
    fn applies_networks_and_names() {
        let d = def(serde_json::json!({
            "name": "p",
            "services": {
                "web": {"image": "x", "hostname": "w", "dns": ["1.1.1.1"], "extra_hosts": {"db": "10.0.0.1"},
                        "expose": ["8000-8001", "53/udp"],
                        "networks": {"front": {"aliases": ["www"], "ipv4_address": "10.231.1.5"}, "back": {"priority": 10}}},
                "side": {"image": "x", "network_mode": "service:web"}
            },
            "networks": {"front": {"ipam": {"config": [{"subnet": "10.231.1.0/24"}]}}, "back": {"name": "shared"}}
        }));
        let mut body = ContainerCreateBody::default();
        apply(&d, "web", &HashMap::new(), &mut body);
        let hc = body.host_config.clone().unwrap_or_default();
        assert_eq!(hc.network_mode.as_deref(), Some("shared"));
        assert_eq!(hc.extra_hosts, Some(vec!["db:10.0.0.1".to_string()]));
        assert_eq!(body.hostname.as_deref(), Some("w"));
        assert_eq!(
            body.exposed_ports,
            Some(vec!["8000/tcp".into(), "8001/tcp".into(), "53/udp".into()])
        );
        let eps = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .unwrap_or_default();
        assert_eq!(eps["shared"].aliases, Some(vec!["web".to_string()]));
        let sec = secondary(&d, "web");
        assert_eq!(sec.len(), 1);
        assert_eq!(sec[0].0, "p_front");
        assert_eq!(
            sec[0].1.aliases,
            Some(vec!["web".to_string(), "www".into()])
        );
        assert_eq!(
            sec[0]
                .1
                .ipam_config
                .as_ref()
                .and_then(|i| i.ipv4_address.as_deref()),
            Some("10.231.1.5")
        );
        let mut body = ContainerCreateBody::default();
        apply(
            &d,
            "side",
            &HashMap::from([("web".to_string(), "abc123".to_string())]),
            &mut body,
        );
        assert_eq!(
            body.host_config.and_then(|h| h.network_mode).as_deref(),
            Some("container:abc123")
        );
        assert!(body.networking_config.is_none());
    }

    #[test]
    fn adopts_custom_networks_without_engine_defaults() {
        let id = "0123456789abcdef".to_string();
        let c = ContainerInspectResponse {
            id: Some(id.clone()),
            name: Some("/app".into()),
            config: Some(ContainerConfig {
                hostname: Some("0123456789ab".into()),
                exposed_ports: Some(vec!["80/tcp".into(), "9000/tcp".into(), "81/tcp".into()]),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                network_mode: Some("mynet".into()),
                extra_hosts: Some(vec!["db:10.0.0.1".into()]),
                port_bindings: Some(HashMap::from([("81/tcp".to_string(), None)])),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    "mynet".to_string(),
                    EndpointSettings {
                        aliases: Some(vec!["0123456789ab".into(), "api".into()]),
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some("10.231.9.9".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let img = ImageInspect {
            config: Some(bollard::models::ImageConfig {
                exposed_ports: Some(vec!["80/tcp".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let a = adopt(&c, Some(&img), true);
        assert_eq!(a.spec.hostname, None);
        assert_eq!(a.spec.expose, vec!["9000/tcp"]);
        assert_eq!(a.spec.networks["mynet"].aliases, vec!["api"]);
        assert_eq!(
            a.spec.networks["mynet"].ipv4_address.as_deref(),
            Some("10.231.9.9")
        );
        assert_eq!(a.decls[0].1.name.as_deref(), Some("mynet"));
        assert!(a.decls[0].1.external);
    }
}
