//! Compose short-syntax port mappings: `[host_ip:][host_port:]container_port[/protocol]`, where
//! ports may be ranges (`8000-8001:80-81`) and IPv6 host addresses are bracketed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::Walker;

/// One `ports` entry as written: a short-syntax string or a long-syntax map.
///
/// Untagged so that stored rows of the older shape (a list of strings) still deserialize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum PortEntry {
    /// `[ip:][host:]container[/proto]`.
    Short(String),
    /// The long syntax.
    Long(LongPort),
}

impl From<String> for PortEntry {
    fn from(s: String) -> Self {
        Self::Short(s)
    }
}

impl PortEntry {
    /// The mappings the entry publishes (one per port of a range).
    pub fn mappings(&self) -> Result<Vec<PortMapping>, String> {
        match self {
            Self::Short(s) => parse_port(s),
            Self::Long(l) => parse_port(&l.short()),
        }
    }
}

/// A long-syntax `ports` entry. `mode`, `app_protocol` and `name` are kept and exported but do
/// not reach the engine: compose v2 does not send them to a plain engine either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LongPort {
    /// Port inside the container.
    pub target: u16,
    /// Host port or range (`8080`, `8000-8010`); absent = chosen by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Host address to bind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// `host` or `ingress` (Swarm's routing mesh; a plain engine publishes both the same way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Application protocol hint (`http`, `grpc`…); metadata only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// A human name for the port; metadata only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl LongPort {
    /// The equivalent short syntax, so that both forms share one mapping to the engine.
    fn short(&self) -> String {
        let mut s = String::new();
        if let Some(ip) = &self.host_ip {
            if ip.contains(':') {
                s.push_str(&format!("[{ip}]:"));
            } else {
                s.push_str(&format!("{ip}:"));
            }
            s.push_str(self.published.as_deref().unwrap_or(""));
            s.push(':');
        } else if let Some(p) = &self.published {
            s.push_str(&format!("{p}:"));
        }
        s.push_str(&self.target.to_string());
        if let Some(proto) = &self.protocol {
            s.push_str(&format!("/{proto}"));
        }
        s
    }
}

/// Reads a member's `ports` list.
pub(super) fn parse(w: &mut Walker, path: &str, v: &Value) -> Vec<PortEntry> {
    let Value::Array(items) = v else {
        w.err(path, "must be a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let entry = match item {
            Value::Object(o) => long(w, &p, o).map(PortEntry::Long),
            other => w.string(&p, other).map(PortEntry::Short),
        };
        if let Some(e) = entry {
            if let Err(msg) = e.mappings() {
                w.err(&p, msg);
            }
            out.push(e);
        }
    }
    out
}

fn long(w: &mut Walker, p: &str, o: &serde_json::Map<String, Value>) -> Option<LongPort> {
    const KNOWN: &[&str] = &[
        "target",
        "published",
        "host_ip",
        "protocol",
        "mode",
        "app_protocol",
        "name",
    ];
    w.only_keys(p, o, KNOWN, "unknown port option");
    let target = match o.get("target") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (1..=65535).contains(&n)) => {
            n.as_u64().map(|n| n as u16)
        }
        Some(Value::String(s)) if s.parse::<u16>().is_ok_and(|n| n > 0) => s.parse().ok(),
        Some(other) => {
            w.err(
                format!("{p}.target"),
                format!("`{other}` is not a port number (1-65535)"),
            );
            None
        }
        None => {
            w.err(format!("{p}.target"), "is required");
            None
        }
    };
    let mut text = |key: &str| match o.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => w.string(&format!("{p}.{key}"), v),
    };
    let published = text("published").filter(|s| !s.is_empty());
    let host_ip = text("host_ip").filter(|s| !s.is_empty());
    let protocol = text("protocol");
    let mode = text("mode");
    let app_protocol = text("app_protocol");
    let name = text("name");
    if let Some(m) = &mode
        && !matches!(m.as_str(), "host" | "ingress")
    {
        w.err(
            format!("{p}.mode"),
            format!("`{m}` is not a port mode: use host or ingress"),
        );
    }
    if let Some(ip) = &host_ip
        && ip.parse::<IpAddr>().is_err()
    {
        w.err(
            format!("{p}.host_ip"),
            format!("`{ip}` is not an IP address"),
        );
        return None;
    }
    if published.as_deref().is_some_and(|s| s.contains(':')) {
        w.err(format!("{p}.published"), "must be a port or a range");
        return None;
    }
    Some(LongPort {
        target: target?,
        published,
        host_ip,
        protocol,
        mode,
        app_protocol,
        name,
    })
}

/// One container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Host address to bind (`None` = all interfaces).
    pub host_ip: Option<String>,
    /// Host port (`None` = chosen by the engine).
    pub host_port: Option<u16>,
    /// End of a host port range published for one container port: the engine picks a free
    /// port in `host_port..=host_port_end` (as compose's `8000-8010:80`).
    pub host_port_end: Option<u16>,
}

impl PortMapping {
    /// The engine's `HostPort`: a port, a range, or empty (engine's choice).
    pub fn host_port_spec(&self) -> String {
        match (self.host_port, self.host_port_end) {
            (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
            (Some(p), None) => p.to_string(),
            _ => String::new(),
        }
    }
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let one = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("`{p}` is not a port number (1-65535)")),
        }
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if a > b {
                return Err(format!("range `{s}` ends before it starts"));
            }
            Ok((a, b))
        }
        None => {
            let p = one(s)?;
            Ok((p, p))
        }
    }
}

/// Parses one `ports` entry into the mappings it publishes (one per port of a range).
pub fn parse_port(spec: &str) -> Result<Vec<PortMapping>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => {
            if !matches!(p, "tcp" | "udp" | "sctp") {
                return Err(format!("`{p}` is not a protocol: use tcp, udp or sctp"));
            }
            (r, p.to_owned())
        }
        None => (spec, "tcp".to_owned()),
    };
    // Split off a bracketed IPv6 host address first; then the remaining `:` separate the parts.
    let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, tail) = after
            .split_once("]:")
            .ok_or_else(|| format!("`{spec}`: a bracketed IPv6 address must be followed by `:`"))?;
        (Some(ip.to_owned()), tail)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, host, container) = match (host_ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some(ip.to_string()), (!h.is_empty()).then_some(*h), *c),
        (Some(ip), [h, c]) => (Some(ip), (!h.is_empty()).then_some(*h), *c),
        _ => {
            return Err(format!(
                "`{spec}` is not a port mapping: use [ip:][host:]container[/proto]"
            ));
        }
    };
    if let Some(ip) = &host_ip {
        ip.parse::<IpAddr>()
            .map_err(|_| format!("`{ip}` is not an IP address"))?;
    }
    let (c_lo, c_hi) = parse_range(container)?;
    let host_range = host.map(parse_range).transpose()?;
    if let Some((h_lo, h_hi)) = host_range {
        let (hn, cn) = (h_hi - h_lo, c_hi - c_lo);
        // A host range for a single container port lets the engine pick one; otherwise sizes must match.
        if hn != cn && cn != 0 {
            return Err(format!(
                "`{spec}`: host and container ranges differ in size"
            ));
        }
        if cn == 0 && hn != 0 {
            return Ok(vec![PortMapping {
                container_port: c_lo,
                protocol,
                host_ip,
                host_port: Some(h_lo),
                host_port_end: Some(h_hi),
            }]);
        }
    }
    Ok((c_lo..=c_hi)
        .enumerate()
        .map(|(i, cp)| PortMapping {
            container_port: cp,
            protocol: protocol.clone(),
            host_ip: host_ip.clone(),
            host_port: host_range.map(|(lo, _)| lo + i as u16),
            host_port_end: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(c: u16, proto: &str, ip: Option<&str>, h: Option<u16>) -> PortMapping {
        PortMapping {
            container_port: c,
            protocol: proto.into(),
            host_ip: ip.map(Into::into),
            host_port: h,
            host_port_end: None,
        }
    }

    #[test]
    fn short_syntax() {
        let check = |input: &str, expected: Vec<PortMapping>| {
            assert_eq!(parse_port(input), Ok(expected), "{input}")
        };
        check("80", vec![pm(80, "tcp", None, None)]);
        check("8080:80", vec![pm(80, "tcp", None, Some(8080))]);
        check(
            "127.0.0.1:8080:80",
            vec![pm(80, "tcp", Some("127.0.0.1"), Some(8080))],
        );
        check(
            "127.0.0.1::80",
            vec![pm(80, "tcp", Some("127.0.0.1"), None)],
        );
        check("53:53/udp", vec![pm(53, "udp", None, Some(53))]);
        check(
            "[::1]:8080:80",
            vec![pm(80, "tcp", Some("::1"), Some(8080))],
        );
        check(
            "8000-8001:80-81",
            vec![
                pm(80, "tcp", None, Some(8000)),
                pm(81, "tcp", None, Some(8001)),
            ],
        );
        check(
            "8000-8010:80",
            vec![PortMapping {
                host_port_end: Some(8010),
                ..pm(80, "tcp", None, Some(8000))
            }],
        );
    }

    fn long(doc: serde_json::Value) -> Result<Vec<PortEntry>, Vec<super::super::Problem>> {
        let def = super::super::parse(&serde_json::json!({
            "name": "p", "services": {"web": {"image": "busybox", "ports": doc}}
        }))?;
        Ok(def.services["web"].ports.clone())
    }

    #[test]
    fn long_syntax() {
        let ports = long(serde_json::json!([
            {"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp", "mode": "host"},
            {"target": 53, "published": 5353, "protocol": "udp", "app_protocol": "dns", "name": "dns"},
            {"target": 81, "published": "9000-9010"},
            {"target": 82, "host_ip": "::1"},
            {"target": 83, "mode": "ingress"},
            "90:90"
        ]))
        .expect("valid");
        let maps: Vec<Vec<PortMapping>> = ports
            .iter()
            .map(|p| p.mappings().expect("parses"))
            .collect();
        assert_eq!(maps[0], vec![pm(80, "tcp", Some("127.0.0.1"), Some(8080))]);
        assert_eq!(maps[1], vec![pm(53, "udp", None, Some(5353))]);
        assert_eq!(maps[2][0].host_port_spec(), "9000-9010");
        assert_eq!(maps[3], vec![pm(82, "tcp", Some("::1"), None)]);
        assert_eq!(maps[4], vec![pm(83, "tcp", None, None)]);
        assert_eq!(ports[5], PortEntry::Short("90:90".into()));
        // What is stored is what was written (a number `published` becomes its string).
        let stored = serde_json::to_value(&ports).expect("json");
        assert_eq!(stored[1]["published"], "5353");
        assert_eq!(stored[1]["name"], "dns");
        let back: Vec<PortEntry> = serde_json::from_value(stored).expect("round trip");
        assert_eq!(back, ports);
    }

    #[test]
    fn long_syntax_refusals() {
        for (bad, field) in [
            (serde_json::json!({"published": 80}), "ports[0].target"),
            (serde_json::json!({"target": 0}), "ports[0].target"),
            (
                serde_json::json!({"target": 80, "protocol": "icmp"}),
                "ports[0]",
            ),
            (
                serde_json::json!({"target": 80, "mode": "bridge"}),
                "ports[0].mode",
            ),
            (
                serde_json::json!({"target": 80, "host_ip": "nope"}),
                "ports[0].host_ip",
            ),
            (
                serde_json::json!({"target": 80, "published": "x"}),
                "ports[0]",
            ),
            (
                serde_json::json!({"target": 80, "bogus": 1}),
                "ports[0].bogus",
            ),
        ] {
            let err = long(serde_json::json!([bad])).expect_err("refused");
            assert!(
                err.iter()
                    .any(|p| p.field == format!("services.web.{field}")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "0",
            "70000",
            "80/icmp",
            "a:80",
            "1.2.3:80:80",
            "8000-8002:80-81",
            "90-80",
            "1:2:3:4",
            "8000-8002:80-81",
        ] {
            assert!(parse_port(bad).is_err(), "{bad} should be rejected");
        }
    }
}
