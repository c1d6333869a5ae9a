//! Compose short-syntax port mappings: `[host_ip:][host_port:]container_port[/protocol]`, where
//! ports may be ranges (`8000-8001:80-81`) and IPv6 host addresses are bracketed.

use std::net::IpAddr;

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
            return Err(format!(
                "`{spec}`: a host port range needs a container port range of the same size"
            ));
        }
    }
    Ok((c_lo..=c_hi)
        .enumerate()
        .map(|(i, cp)| PortMapping {
            container_port: cp,
            protocol: protocol.clone(),
            host_ip: host_ip.clone(),
            host_port: host_range.map(|(lo, _)| lo + i as u16),
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
            "8000-8001:80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad} should be rejected");
        }
    }
}
