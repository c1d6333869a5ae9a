//! Networking attributes of a member (`networks`, `network_mode`, `hostname`, `dns`, …) and the
//! top-level `networks`, validated into canonical shapes. The Engine API mapping lives in
//! `docker::create::network`; adoption from inspect there too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::Walker;
use super::{Definition, Member};

/// Member keys this module reads (everything else is another module's or refused).
pub const MEMBER_KEYS: &[&str] = &[
    "networks",
    "network_mode",
    "hostname",
    "domainname",
    "dns",
    "dns_search",
    "dns_opt",
    "extra_hosts",
    "expose",
    "links",
    "mac_address",
];

/// The key of compose's implicit network, which SDMD maps to `sdmd_<service>`.
pub const DEFAULT: &str = "default";

/// A member's networking settings; empty means compose's defaults (the service network).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberNetwork {
    /// Networks joined (keys of the top-level `networks`, or `default`); empty = `default` only.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, Attachment>,
    /// `bridge`, `host`, `none`, `service:<member>` or `container:<name>`; excludes `networks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// The container's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The container's NIS domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// DNS search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// resolv.conf options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    /// `/etc/hosts` entries as `host:ip`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Ports exposed without publishing, as `port[/proto]` or `start-end[/proto]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// Legacy links `member[:alias]`: extra names for another member on shared networks, and
    /// an implicit dependency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// MAC address of the container on the network it is created on (its highest-priority one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// How a member attaches to one network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// Extra names the member answers to on this network (its member name always is one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Static IPv4 address (the network needs an `ipam` subnet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// Static IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Link-local addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    /// Higher first: the highest is the network the container is created on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Endpoint driver options.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// MAC address of the container on this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// A top-level network declaration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkDecl {
    /// Network driver (default `bridge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    /// Address management.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// No route outside the network.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// Other containers may attach manually.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    /// Enable IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    /// The network exists outside SDMD: deploy joins it but never creates or removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The network's real name in Docker; default `<service>_<key>` (`sdmd_<service>` for `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels set on the network (keys under `io.sdmd.` are reserved).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
}

/// A network's IP address management.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ipam {
    /// IPAM driver (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Address pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// One IPAM address pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpamPool {
    /// CIDR subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// CIDR range containers get addresses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// Gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Addresses the driver must not hand out, by host name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub aux_addresses: IndexMap<String, String>,
}

/// A parsed `network_mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// The engine's default `bridge` network (docker0).
    Bridge,
    /// The host's network stack.
    Host,
    /// Loopback only.
    None,
    /// Another member's network stack.
    Service(String),
    /// An existing container's network stack, by name or id.
    Container(String),
}

impl NetworkMode {
    /// Parses compose's spelling.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "bridge" => Ok(Self::Bridge),
            "host" => Ok(Self::Host),
            "none" => Ok(Self::None),
            _ => match s.split_once(':') {
                Some(("service", m)) if !m.is_empty() => Ok(Self::Service(m.to_owned())),
                Some(("container", c)) if !c.is_empty() => Ok(Self::Container(c.to_owned())),
                _ => Err(format!(
                    "`{s}` is not a network mode SDMD supports: use bridge, host, none, service:<member> or container:<name> (to join a network, use `networks`)"
                )),
            },
        }
    }

    /// Whether the container shares another one's network stack (engine restrictions apply).
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Service(_) | Self::Container(_))
    }
}

impl MemberNetwork {
    /// The parsed network mode, if one is set (and valid).
    pub fn mode(&self) -> Option<NetworkMode> {
        self.network_mode
            .as_deref()
            .and_then(|m| NetworkMode::parse(m).ok())
    }

    /// The network keys this member joins, highest priority first (ties by name, as compose v2);
    /// empty when a `network_mode` replaces SDMD's networks.
    pub fn joined(&self) -> Vec<(String, Attachment)> {
        if self.network_mode.is_some() {
            return Vec::new();
        }
        if self.networks.is_empty() {
            return vec![(DEFAULT.to_owned(), Attachment::default())];
        }
        let mut v: Vec<(String, Attachment)> = self
            .networks
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        v.sort_by(|a, b| {
            b.1.priority
                .unwrap_or(0)
                .cmp(&a.1.priority.unwrap_or(0))
                .then_with(|| a.0.cmp(&b.0))
        });
        v
    }

    /// `(member, alias)` of each link (the alias defaults to the member name).
    pub fn link_targets(&self) -> Vec<(String, String)> {
        self.links
            .iter()
            .map(|l| match l.split_once(':') {
                Some((m, a)) => (m.to_owned(), a.to_owned()),
                None => (l.clone(), l.clone()),
            })
            .collect()
    }

    /// The member whose network stack this one shares (`network_mode: service:X`).
    pub fn service_dependency(&self) -> Option<String> {
        match self.mode() {
            Some(NetworkMode::Service(m)) => Some(m),
            _ => None,
        }
    }
}

impl Definition {
    /// The Docker network name of a network key: its `name`, else `sdmd_<service>` for
    /// `default` (where SDMD always put its members) and `<service>_<key>` otherwise.
    pub fn network_docker_name(&self, key: &str) -> String {
        match self.networks.get(key).and_then(|d| d.name.clone()) {
            Some(n) => n,
            None if key == DEFAULT => self.network_name(),
            None => format!("{}_{key}", self.name),
        }
    }

    /// Every network key some member joins, in first-use order, with its declaration
    /// (`default` may be undeclared).
    pub fn used_networks(&self) -> Vec<(String, NetworkDecl)> {
        let mut out: Vec<(String, NetworkDecl)> = Vec::new();
        for m in self.services.values() {
            for (k, _) in m.network.joined() {
                if !out.iter().any(|(o, _)| *o == k) {
                    let decl = self.networks.get(&k).cloned().unwrap_or_default();
                    out.push((k, decl));
                }
            }
        }
        out
    }
}

fn is_network_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A string, or a list of strings (compose's `string_or_list`).
fn string_or_list(w: &mut Walker, path: &str, v: &Value) -> Vec<String> {
    match v {
        Value::Array(_) => w.string_list(path, v).into_iter().map(|(_, s)| s).collect(),
        other => w.string(path, other).into_iter().collect(),
    }
}

fn ip(w: &mut Walker, path: &str, v: &Value, v6: bool) -> Option<String> {
    let s = w.string(path, v)?;
    let ok = if v6 {
        s.parse::<Ipv6Addr>().is_ok()
    } else {
        s.parse::<Ipv4Addr>().is_ok()
    };
    if !ok {
        let family = if v6 { "IPv6" } else { "IPv4" };
        w.err(path, format!("`{s}` is not an {family} address"));
    }
    Some(s)
}

fn bool_field(w: &mut Walker, path: &str, v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => {
            w.err(path, "must be true or false");
            None
        }
    }
}

fn unknown_keys(w: &mut Walker, path: &str, map: &serde_json::Map<String, Value>, known: &[&str]) {
    w.only_keys(path, map, known, "unsupported field");
}

fn attachment(w: &mut Walker, path: &str, v: &Value) -> Attachment {
    let o = match v {
        Value::Null => return Attachment::default(),
        Value::Object(o) => o,
        _ => {
            w.err(path, "must be a map or empty");
            return Attachment::default();
        }
    };
    unknown_keys(
        w,
        path,
        o,
        &[
            "aliases",
            "ipv4_address",
            "ipv6_address",
            "link_local_ips",
            "priority",
            "driver_opts",
            "mac_address",
        ],
    );
    let aliases = o
        .get("aliases")
        .map(|a| {
            w.string_list(&format!("{path}.aliases"), a)
                .into_iter()
                .map(|(_, s)| s)
                .collect()
        })
        .unwrap_or_default();
    let link_local_ips = o
        .get("link_local_ips")
        .map(|a| {
            w.string_list(&format!("{path}.link_local_ips"), a)
                .into_iter()
                .filter_map(|(p, s)| match s.parse::<IpAddr>() {
                    Ok(_) => Some(s),
                    Err(_) => {
                        w.err(p, format!("`{s}` is not an IP address"));
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let priority = match o.get("priority") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(_) => {
            w.err(format!("{path}.priority"), "must be an integer");
            None
        }
    };
    Attachment {
        aliases,
        ipv4_address: o
            .get("ipv4_address")
            .and_then(|v| ip(w, &format!("{path}.ipv4_address"), v, false)),
        ipv6_address: o
            .get("ipv6_address")
            .and_then(|v| ip(w, &format!("{path}.ipv6_address"), v, true)),
        link_local_ips,
        priority,
        driver_opts: o
            .get("driver_opts")
            .map(|d| w.key_values(&format!("{path}.driver_opts"), d))
            .unwrap_or_default(),
        mac_address: o
            .get("mac_address")
            .and_then(|v| mac(w, &format!("{path}.mac_address"), v)),
    }
}

/// A unicast MAC address `xx:xx:xx:xx:xx:xx` (the engine's `net.ParseMAC` also takes other
/// spellings, which compose passes through; SDMD keeps to the one people write).
fn mac(w: &mut Walker, path: &str, v: &Value) -> Option<String> {
    let s = w.string(path, v)?;
    let parts: Vec<&str> = s.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        w.err(
            path,
            format!("`{s}` is not a MAC address (xx:xx:xx:xx:xx:xx)"),
        );
        return None;
    }
    Some(s)
}

/// A `port`, `port/proto`, `start-end` or `start-end/proto` of `expose`.
fn expose_entry(s: &str) -> Result<String, String> {
    let err =
        || format!("`{s}` is not an exposed port: use port[/tcp|udp|sctp] or start-end[/proto]");
    let (ports, proto) = match s.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (s, "tcp"),
    };
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(err());
    }
    let port = |p: &str| p.parse::<u16>().ok().filter(|n| *n > 0);
    match ports.split_once('-') {
        Some((a, b)) => match (port(a), port(b)) {
            (Some(a), Some(b)) if a <= b => Ok(format!("{a}-{b}/{proto}")),
            _ => Err(err()),
        },
        None => port(ports).map(|p| format!("{p}/{proto}")).ok_or_else(err),
    }
}

/// Reads the keys of [`MEMBER_KEYS`] from a member map.
pub(super) fn parse_member(
    w: &mut Walker,
    path: &str,
    map: &serde_json::Map<String, Value>,
) -> MemberNetwork {
    let mut networks = IndexMap::new();
    match map.get("networks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(_)) => {
            for (p, k) in w.string_list(&format!("{path}.networks"), &map["networks"]) {
                if networks.insert(k.clone(), Attachment::default()).is_some() {
                    w.err(p, format!("network `{k}` is listed twice"));
                }
            }
        }
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let a = attachment(w, &format!("{path}.networks.{k}"), v);
                networks.insert(k.clone(), a);
            }
        }
        Some(_) => w.err(
            format!("{path}.networks"),
            "must be a list of network names or a map",
        ),
    }
    let network_mode = map.get("network_mode").and_then(|v| {
        let p = format!("{path}.network_mode");
        let s = w.string(&p, v)?;
        if let Err(e) = NetworkMode::parse(&s) {
            w.err(&p, e);
        }
        Some(s)
    });
    let text = |w: &mut Walker, key: &str| {
        map.get(key)
            .filter(|v| !v.is_null())
            .and_then(|v| w.string(&format!("{path}.{key}"), v))
    };
    let hostname = text(w, "hostname");
    let domainname = text(w, "domainname");
    let list = |w: &mut Walker, key: &str| {
        map.get(key)
            .filter(|v| !v.is_null())
            .map(|v| string_or_list(w, &format!("{path}.{key}"), v))
            .unwrap_or_default()
    };
    let dns = list(w, "dns");
    for (i, d) in dns.iter().enumerate() {
        if d.parse::<IpAddr>().is_err() {
            w.err(
                format!("{path}.dns[{i}]"),
                format!("`{d}` is not an IP address"),
            );
        }
    }
    let dns_search = list(w, "dns_search");
    let dns_opt = map
        .get("dns_opt")
        .filter(|v| !v.is_null())
        .map(|v| {
            w.string_list(&format!("{path}.dns_opt"), v)
                .into_iter()
                .map(|(_, s)| s)
                .collect()
        })
        .unwrap_or_default();
    let extra_hosts = match map.get("extra_hosts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(o)) => {
            let mut out = Vec::new();
            for (host, v) in o {
                let p = format!("{path}.extra_hosts.{host}");
                // compose v2 accepts several addresses for one host in the map form.
                for addr in string_or_list(w, &p, v) {
                    out.push(host_entry(w, &p, host, &addr));
                }
            }
            out
        }
        Some(v @ Value::Array(_)) => w
            .string_list(&format!("{path}.extra_hosts"), v)
            .into_iter()
            .map(|(p, s)| {
                // compose v2 accepts `host=ip` (needed for IPv6) and `host:ip`.
                let (host, addr) = s
                    .split_once('=')
                    .or_else(|| s.split_once(':'))
                    .unwrap_or((s.as_str(), ""));
                host_entry(w, &p, host, addr)
            })
            .collect(),
        Some(_) => {
            w.err(
                format!("{path}.extra_hosts"),
                "must be a list of host:ip or a map of host to ip",
            );
            Vec::new()
        }
    };
    let expose = match map.get("expose") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => w
            .string_list(&format!("{path}.expose"), v)
            .into_iter()
            .filter_map(|(p, s)| match expose_entry(&s) {
                Ok(e) => Some(e),
                Err(e) => {
                    w.err(p, e);
                    None
                }
            })
            .collect(),
    };
    let links = match map.get("links") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => w
            .string_list(&format!("{path}.links"), v)
            .into_iter()
            .filter_map(|(p, s)| {
                let ok = match s.split_once(':') {
                    Some((m, a)) => !m.is_empty() && is_network_key(a),
                    None => !s.is_empty(),
                };
                if ok {
                    Some(s)
                } else {
                    w.err(p, format!("`{s}` must be member or member:alias"));
                    None
                }
            })
            .collect(),
    };
    let mac_address = map
        .get("mac_address")
        .and_then(|v| mac(w, &format!("{path}.mac_address"), v));
    let out = MemberNetwork {
        mac_address,
        links,
        networks,
        network_mode,
        hostname,
        domainname,
        dns,
        dns_search,
        dns_opt,
        extra_hosts,
        expose,
    };
    if let (Some(m), Some((key, a))) = (&out.mac_address, out.joined().first())
        && let Some(own) = &a.mac_address
        && own != m
    {
        w.err(
            format!("{path}.networks.{key}.mac_address"),
            format!("`{own}` contradicts the member's mac_address `{m}` on the network it is created on: set one of them"),
        );
    }
    if let Some(mode) = out.mode() {
        let mp = format!("{path}.network_mode");
        if !out.networks.is_empty() {
            // compose refuses this combination too.
            w.err(&mp, "`network_mode` and `networks` are mutually exclusive");
        }
        if mode.is_shared() {
            // The engine refuses these with a shared network stack (runconfig's
            // validateNetContainerMode); DNS options would have no effect at all.
            for (key, set) in [
                ("hostname", out.hostname.is_some()),
                ("domainname", out.domainname.is_some()),
                ("dns", !out.dns.is_empty()),
                ("dns_search", !out.dns_search.is_empty()),
                ("dns_opt", !out.dns_opt.is_empty()),
                ("extra_hosts", !out.extra_hosts.is_empty()),
                ("expose", !out.expose.is_empty()),
                ("links", !out.links.is_empty()),
                ("ports", map.contains_key("ports")),
            ] {
                if set {
                    w.err(
                        format!("{path}.{key}"),
                        format!("`{key}` cannot be set with a shared network stack (`network_mode: {}`): set it on the container that owns the stack", out.network_mode.as_deref().unwrap_or_default()),
                    );
                }
            }
        }
        if !mode.is_shared() && !out.links.is_empty() {
            // Links live on the endpoints of SDMD's networks, which a network_mode replaces.
            w.err(
                format!("{path}.links"),
                "`links` needs the member's networks: it cannot be combined with `network_mode`",
            );
        }
        if !matches!(mode, NetworkMode::Bridge) && out.mac_address.is_some() {
            // The engine refuses it: "conflicting options: mac-address and the network mode".
            w.err(
                format!("{path}.mac_address"),
                format!("a MAC address needs a network of the member's own; `network_mode: {}` has none", out.network_mode.as_deref().unwrap_or_default()),
            );
        }
        if matches!(mode, NetworkMode::Host | NetworkMode::None) && map.contains_key("ports") {
            w.err(
                format!("{path}.ports"),
                "published ports have no effect with `network_mode: host` or `none` (the engine discards them): remove `ports`",
            );
        }
    }
    out
}

fn host_entry(w: &mut Walker, path: &str, host: &str, addr: &str) -> String {
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || addr.parse::<IpAddr>().is_err() && addr != "host-gateway" {
        w.err(
            path,
            format!(
                "`{host}:{addr}` must be host:ip (or host=ip), with an IP address or host-gateway"
            ),
        );
    }
    format!("{host}:{addr}")
}

/// Reads the top-level `networks`.
pub(super) fn parse_decls(w: &mut Walker, v: Option<&Value>) -> IndexMap<String, NetworkDecl> {
    let mut out = IndexMap::new();
    let map = match v {
        None | Some(Value::Null) => return out,
        Some(Value::Object(m)) => m,
        Some(_) => {
            w.err("networks", "must be a map of network names");
            return out;
        }
    };
    for (key, decl) in map {
        let p = format!("networks.{key}");
        if !is_network_key(key) {
            w.err(&p, format!("`{key}` is not a valid network name"));
        }
        match decl {
            Value::Null => {
                out.insert(key.clone(), NetworkDecl::default());
            }
            Value::Object(o) => {
                out.insert(key.clone(), decl_of(w, &p, o));
            }
            _ => w.err(&p, "must be a map or empty"),
        }
    }
    out
}

fn decl_of(w: &mut Walker, p: &str, o: &serde_json::Map<String, Value>) -> NetworkDecl {
    unknown_keys(
        w,
        p,
        o,
        &[
            "driver",
            "driver_opts",
            "ipam",
            "internal",
            "attachable",
            "enable_ipv6",
            "external",
            "name",
            "labels",
        ],
    );
    let driver = o
        .get("driver")
        .and_then(|d| w.string(&format!("{p}.driver"), d));
    let driver_opts = o
        .get("driver_opts")
        .map(|d| w.key_values(&format!("{p}.driver_opts"), d))
        .unwrap_or_default();
    let labels = o
        .get("labels")
        .map(|l| w.key_values(&format!("{p}.labels"), l))
        .unwrap_or_default();
    for k in labels.keys() {
        if k.starts_with("io.sdmd.") {
            w.err(
                format!("{p}.labels.{k}"),
                "labels under io.sdmd. are reserved for SDMD",
            );
        }
    }
    let name = o.get("name").and_then(|n| {
        let s = w.string(&format!("{p}.name"), n)?;
        if !is_network_key(&s) {
            w.err(
                format!("{p}.name"),
                format!("`{s}` is not a valid Docker network name"),
            );
        }
        Some(s)
    });
    let external = match o.get("external") {
        // compose's legacy `external: {name: x}` form is deprecated; only a boolean is accepted.
        Some(Value::Object(_)) => {
            w.err(
                format!("{p}.external"),
                "use `external: true` with `name:` (the `external.name` form is deprecated)",
            );
            false
        }
        v => bool_field(w, &format!("{p}.external"), v).unwrap_or(false),
    };
    let ipam = o.get("ipam").and_then(|v| ipam(w, &format!("{p}.ipam"), v));
    let internal = bool_field(w, &format!("{p}.internal"), o.get("internal")).unwrap_or(false);
    let attachable =
        bool_field(w, &format!("{p}.attachable"), o.get("attachable")).unwrap_or(false);
    let enable_ipv6 = bool_field(w, &format!("{p}.enable_ipv6"), o.get("enable_ipv6"));
    if external
        && (driver.is_some()
            || !driver_opts.is_empty()
            || ipam.is_some()
            || internal
            || attachable
            || enable_ipv6.is_some()
            || !labels.is_empty())
    {
        // compose refuses this too: an external network's settings are not SDMD's to make.
        w.err(
            p,
            "an external network cannot also set driver, driver_opts, ipam, internal, attachable, enable_ipv6 or labels (it is not created by SDMD)",
        );
    }
    NetworkDecl {
        driver,
        driver_opts,
        ipam,
        internal,
        attachable,
        enable_ipv6,
        external,
        name,
        labels,
    }
}

fn cidr(w: &mut Walker, path: &str, v: &Value) -> Option<String> {
    let s = w.string(path, v)?;
    let ok =
        s.split_once('/')
            .is_some_and(|(a, len)| match (a.parse::<IpAddr>(), len.parse::<u8>()) {
                (Ok(IpAddr::V4(_)), Ok(l)) => l <= 32,
                (Ok(IpAddr::V6(_)), Ok(l)) => l <= 128,
                _ => false,
            });
    if !ok {
        w.err(
            path,
            format!("`{s}` is not a CIDR subnet (like 10.5.0.0/16)"),
        );
    }
    Some(s)
}

fn ipam(w: &mut Walker, p: &str, v: &Value) -> Option<Ipam> {
    let Value::Object(o) = v else {
        w.err(p, "must be a map");
        return None;
    };
    unknown_keys(w, p, o, &["driver", "config", "options"]);
    let mut config = Vec::new();
    match o.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let ip_ = format!("{p}.config[{i}]");
                let Value::Object(c) = item else {
                    w.err(&ip_, "must be a map");
                    continue;
                };
                unknown_keys(
                    w,
                    &ip_,
                    c,
                    &["subnet", "ip_range", "gateway", "aux_addresses"],
                );
                let aux = c
                    .get("aux_addresses")
                    .map(|a| w.key_values(&format!("{ip_}.aux_addresses"), a))
                    .unwrap_or_default();
                for (k, a) in &aux {
                    if a.parse::<IpAddr>().is_err() {
                        w.err(
                            format!("{ip_}.aux_addresses.{k}"),
                            format!("`{a}` is not an IP address"),
                        );
                    }
                }
                let gateway = c.get("gateway").and_then(|g| {
                    let path = format!("{ip_}.gateway");
                    let s = w.string(&path, g)?;
                    if s.parse::<IpAddr>().is_err() {
                        w.err(path, format!("`{s}` is not an IP address"));
                    }
                    Some(s)
                });
                config.push(IpamPool {
                    subnet: c
                        .get("subnet")
                        .and_then(|s| cidr(w, &format!("{ip_}.subnet"), s)),
                    ip_range: c
                        .get("ip_range")
                        .and_then(|s| cidr(w, &format!("{ip_}.ip_range"), s)),
                    gateway,
                    aux_addresses: aux,
                });
            }
        }
        Some(_) => w.err(format!("{p}.config"), "must be a list of address pools"),
    }
    Some(Ipam {
        driver: o
            .get("driver")
            .and_then(|d| w.string(&format!("{p}.driver"), d)),
        config,
        options: o
            .get("options")
            .map(|d| w.key_values(&format!("{p}.options"), d))
            .unwrap_or_default(),
    })
}

/// Cross-member rules: declared networks, static addresses, `service:` references.
pub(super) fn check_references(
    w: &mut Walker,
    services: &IndexMap<String, Member>,
    decls: &IndexMap<String, NetworkDecl>,
) {
    for (mname, m) in services {
        let path = format!("services.{mname}");
        for (key, a) in &m.network.networks {
            let p = format!("{path}.networks.{key}");
            let decl = decls.get(key);
            if decl.is_none() && key != DEFAULT {
                w.err(
                    &p,
                    format!("network `{key}` is not declared under the top-level networks"),
                );
                continue;
            }
            let external = decl.is_some_and(|d| d.external);
            let subnets: Vec<&str> = decl
                .and_then(|d| d.ipam.as_ref())
                .map(|i| {
                    i.config
                        .iter()
                        .filter_map(|c| c.subnet.as_deref())
                        .collect()
                })
                .unwrap_or_default();
            // The engine assigns static addresses only on networks with a configured subnet;
            // an external network's configuration is not known until deploy.
            for (field, addr, v6) in [
                ("ipv4_address", &a.ipv4_address, false),
                ("ipv6_address", &a.ipv6_address, true),
            ] {
                if addr.is_none() || external {
                    continue;
                }
                let family_subnet = subnets.iter().any(|s| s.contains(':') == v6);
                if !family_subnet {
                    w.err(
                        format!("{p}.{field}"),
                        format!("a static address needs an {} subnet in `networks.{key}.ipam.config` (the engine assigns user-specified addresses only on networks with a configured subnet)", if v6 { "IPv6" } else { "IPv4" }),
                    );
                }
            }
            if a.ipv6_address.is_some()
                && !external
                && decl.and_then(|d| d.enable_ipv6) != Some(true)
            {
                w.err(
                    format!("{p}.ipv6_address"),
                    format!("network `{key}` needs `enable_ipv6: true` for an IPv6 address"),
                );
            }
        }
        for (i, (target, _)) in m.network.link_targets().iter().enumerate() {
            let p = format!("{path}.links[{i}]");
            if target == mname {
                w.err(p, "a member cannot link to itself");
            } else if !services.contains_key(target) {
                // compose refuses a link to an undefined service too.
                w.err(p, format!("unknown member `{target}`"));
            }
        }
        if let Some(dep) = m.network.service_dependency() {
            let p = format!("{path}.network_mode");
            if dep == *mname {
                w.err(p, "a member cannot share its own network stack");
            } else if !services.contains_key(&dep) {
                w.err(p, format!("unknown member `{dep}`"));
            } else if services[&dep].network.service_dependency().is_some() {
                // The engine refuses to join a container that itself joined another one.
                w.err(
                    p,
                    format!("member `{dep}` shares another member's network stack itself: point at the owner of the stack"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use serde_json::json;

    fn doc(member: Value, networks: Value) -> Value {
        json!({"name": "n", "services": {"web": member, "vpn": {"image": "x"}}, "networks": networks})
    }

    fn problems(member: Value, networks: Value) -> Vec<String> {
        match parse(&doc(member, networks)) {
            Ok(_) => Vec::new(),
            Err(ps) => ps
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
        }
    }

    #[test]
    fn parses_every_form() {
        let def = parse(&doc(
            json!({
                "image": "x",
                "networks": {"front": {"aliases": ["www"], "ipv4_address": "10.231.7.10", "priority": 5, "link_local_ips": ["169.254.1.1"], "driver_opts": {"a": "b"}}, "back": null},
                "hostname": "web1", "domainname": "example.org",
                "dns": "1.1.1.1", "dns_search": ["a.example", "b.example"], "dns_opt": ["ndots:2"],
                "extra_hosts": ["db:10.0.0.5", "v6=::1"],
                "expose": [80, "53/udp", "8000-8001"],
            }),
            json!({
                "front": {"driver": "bridge", "ipam": {"config": [{"subnet": "10.231.7.0/24", "gateway": "10.231.7.1", "ip_range": "10.231.7.128/25", "aux_addresses": {"r": "10.231.7.2"}}]}, "labels": ["k=v"]},
                "back": {"internal": true, "attachable": true, "driver_opts": {"com.docker.network.bridge.name": "br-x"}},
            }),
        ))
        .expect("valid");
        let n = &def.services["web"].network;
        assert_eq!(n.networks["front"].aliases, vec!["www"]);
        assert_eq!(
            n.networks["front"].ipv4_address.as_deref(),
            Some("10.231.7.10")
        );
        assert_eq!(n.networks["back"], Attachment::default());
        assert_eq!(n.dns, vec!["1.1.1.1"]);
        assert_eq!(n.extra_hosts, vec!["db:10.0.0.5", "v6:::1"]);
        assert_eq!(n.expose, vec!["80/tcp", "53/udp", "8000-8001/tcp"]);
        assert_eq!(
            n.joined()
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            vec!["front", "back"]
        );
        assert!(def.networks["back"].internal);
        let linked = parse(&doc(
            json!({"image": "x", "links": ["vpn:tunnel"]}),
            json!(null),
        ))
        .expect("valid");
        assert_eq!(
            linked.services["web"].network.link_targets(),
            vec![("vpn".to_string(), "tunnel".to_string())]
        );
        assert_eq!(linked.start_order(), vec!["vpn".to_string(), "web".into()]);
        assert_eq!(def.networks["front"].labels["k"], "v");
        assert_eq!(def.network_docker_name("front"), "n_front");
        assert_eq!(def.network_docker_name("default"), "sdmd_n");
        // The canonical form parses back to itself.
        assert_eq!(parse(&serde_json::to_value(&def).expect("json")), Ok(def));
    }

    #[test]
    fn list_and_map_extra_hosts_and_modes() {
        let def = parse(&doc(
            json!({"image": "x", "network_mode": "service:vpn", "extra_hosts": null}),
            json!(null),
        ))
        .expect("valid");
        assert_eq!(
            def.services["web"].network.service_dependency().as_deref(),
            Some("vpn")
        );
        assert_eq!(def.start_order(), vec!["vpn".to_string(), "web".into()]);
        let def = parse(&doc(
            json!({"image": "x", "networks": ["default"], "extra_hosts": {"a": "1.2.3.4", "b": ["::1", "5.6.7.8"]}}),
            json!(null),
        ))
        .expect("valid");
        assert_eq!(
            def.services["web"].network.extra_hosts,
            vec!["a:1.2.3.4", "b:::1", "b:5.6.7.8"]
        );
        for mode in ["host", "none", "bridge", "container:other"] {
            assert!(
                problems(json!({"image": "x", "network_mode": mode}), json!(null)).is_empty(),
                "{mode}"
            );
        }
    }

    #[test]
    fn refusals() {
        let cases: Vec<(Value, Value, &str)> = vec![
            (
                json!({"image": "x", "networks": ["nope"]}),
                json!(null),
                "networks.nope: network `nope` is not declared",
            ),
            (
                json!({"image": "x", "networks": {"a": {"ipv4_address": "10.0.0.1"}}}),
                json!({"a": {}}),
                "needs an IPv4 subnet",
            ),
            (
                json!({"image": "x", "networks": {"a": {"ipv4_address": "10.0.0.300"}}}),
                json!({"a": {}}),
                "is not an IPv4 address",
            ),
            (
                json!({"image": "x", "networks": {"a": {"ipv6_address": "fd00::5"}}}),
                json!({"a": {"ipam": {"config": [{"subnet": "fd00::/64"}]}}}),
                "enable_ipv6",
            ),
            (
                json!({"image": "x", "networks": {"a": {"mac_address": "02:00:00:00:00:0g"}}}),
                json!({"a": {}}),
                "not a MAC address",
            ),
            (
                json!({"image": "x", "mac_address": "02:00:00:00:00:01", "networks": {"a": {"mac_address": "02:00:00:00:00:02"}}}),
                json!({"a": {}}),
                "contradicts",
            ),
            (
                json!({"image": "x", "networks": {"a": {"bogus": 1}}}),
                json!({"a": {}}),
                "unsupported field",
            ),
            (
                json!({"image": "x", "network_mode": "host", "networks": ["default"]}),
                json!(null),
                "mutually exclusive",
            ),
            (
                json!({"image": "x", "network_mode": "mynet"}),
                json!(null),
                "not a network mode",
            ),
            (
                json!({"image": "x", "network_mode": "service:ghost"}),
                json!(null),
                "unknown member `ghost`",
            ),
            (
                json!({"image": "x", "network_mode": "service:web"}),
                json!(null),
                "its own network stack",
            ),
            (
                json!({"image": "x", "network_mode": "service:vpn", "hostname": "h"}),
                json!(null),
                "web.hostname",
            ),
            (
                json!({"image": "x", "network_mode": "container:c", "ports": ["80:80"]}),
                json!(null),
                "web.ports",
            ),
            (
                json!({"image": "x", "network_mode": "host", "ports": ["80:80"]}),
                json!(null),
                "engine discards them",
            ),
            (
                json!({"image": "x", "mac_address": "02:00:00:00:00:01", "network_mode": "host"}),
                json!(null),
                "network of the member's own",
            ),
            (
                json!({"image": "x", "links": ["ghost:g"]}),
                json!(null),
                "unknown member `ghost`",
            ),
            (
                json!({"image": "x", "links": ["vpn:bad alias"]}),
                json!(null),
                "member or member:alias",
            ),
            (
                json!({"image": "x", "network_mode": "host", "links": ["vpn"]}),
                json!(null),
                "cannot be combined",
            ),
            (
                json!({"image": "x", "network_mode": "service:vpn", "links": ["vpn"]}),
                json!(null),
                "web.links",
            ),
            (
                json!({"image": "x", "dns": ["dns.example"]}),
                json!(null),
                "not an IP address",
            ),
            (
                json!({"image": "x", "extra_hosts": ["nohost"]}),
                json!(null),
                "must be host:ip",
            ),
            (
                json!({"image": "x", "expose": ["80/xdp"]}),
                json!(null),
                "not an exposed port",
            ),
            (
                json!({"image": "x"}),
                json!({"a": {"labels": {"io.sdmd.service": "other"}}}),
                "reserved",
            ),
            (
                json!({"image": "x"}),
                json!({"a": {"external": true, "driver": "bridge"}}),
                "external network cannot",
            ),
            (
                json!({"image": "x"}),
                json!({"a": {"ipam": {"config": [{"subnet": "10.0.0.0"}]}}}),
                "not a CIDR",
            ),
            (
                json!({"image": "x"}),
                json!({"a": {"enable_ipv6": "yes"}}),
                "true or false",
            ),
            (
                json!({"image": "x"}),
                json!({"a b": {}}),
                "not a valid network name",
            ),
            (json!({"image": "x"}), json!(["a"]), "must be a map"),
        ];
        for (member, nets, want) in cases {
            let got = problems(member.clone(), nets.clone());
            assert!(
                got.iter().any(|p| p.contains(want)),
                "{member} / {nets}: want `{want}`, got {got:?}"
            );
        }
    }

    #[test]
    fn service_mode_cycles_are_found() {
        let err = parse(&json!({"name": "n", "services": {
            "a": {"image": "x", "network_mode": "service:b"},
            "b": {"image": "x", "depends_on": ["a"]}
        }}))
        .expect_err("cycle");
        assert!(
            err.iter().any(|p| p.message.contains("dependency cycle")),
            "{err:?}"
        );
    }
}
