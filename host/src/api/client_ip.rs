//! The client's address: the TCP peer, or — when the peer is a trusted reverse proxy
//! (`SDMD_TRUSTED_PROXIES`) — the right-most address in `X-Forwarded-For` that is not itself a
//! trusted proxy. Untrusted peers cannot spoof it: their `X-Forwarded-For` is ignored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The address audit rows and login throttling use, set by [`resolve`].
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

pub use sdmd_model::net::{Net, parse_list};

/// The client address for a peer and its `X-Forwarded-For` values.
pub fn client_of(peer: IpAddr, forwarded_for: &[&str], trusted: &[Net]) -> IpAddr {
    if !trusted.iter().any(|n| n.contains(peer)) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    // Walk from the nearest hop outwards; the first untrusted one is the client.
    hops.iter()
        .rev()
        .copied()
        .find(|ip| !trusted.iter().any(|n| n.contains(*ip)))
        .or(hops.first().copied())
        .unwrap_or(peer)
}

/// Middleware: records [`ClientIp`] for the request.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let xff: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = client_of(peer, &xff, &state.trusted_proxies);
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The warning `sdmd serve` logs when SDMD serves plain HTTP (so presumably sits behind a
/// TLS-terminating proxy) and no proxy is trusted: then every client has the proxy's address.
pub fn proxy_warning(tls: bool, trusted: &[Net]) -> Option<&'static str> {
    (!tls && trusted.is_empty()).then_some(
        "SDMD_TLS=off and SDMD_TRUSTED_PROXIES is unset: behind a reverse proxy every client has the \
         proxy's address, so audit rows name the proxy and the per-address sign-in block (20 failures \
         in 15 minutes) blocks everyone; set SDMD_TRUSTED_PROXIES to the proxy's address",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_without_trusted_proxies_warns() {
        assert!(proxy_warning(false, &[]).is_some());
        assert!(proxy_warning(true, &[]).is_none());
        assert!(proxy_warning(false, &parse_list("10.0.0.1").unwrap()).is_none());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match_by_prefix() {
        let n = Net::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(
            Net::parse("172.16.0.0/12")
                .unwrap()
                .contains(ip("172.31.255.255"))
        );
        assert!(
            !Net::parse("172.16.0.0/12")
                .unwrap()
                .contains(ip("172.32.0.0"))
        );
        assert!(
            Net::parse("127.0.0.1")
                .unwrap()
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(Net::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Net::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Net::parse("10.0.0.0/33").is_err());
        assert!(Net::parse("proxy").is_err());
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted = parse_list("10.0.0.0/8, 192.168.1.1").unwrap();
        // Untrusted peer: its header is ignored (no spoofing).
        assert_eq!(
            client_of(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Trusted peer: the right-most untrusted hop.
        assert_eq!(
            client_of(
                ip("10.0.0.2"),
                &["1.2.3.4, 198.51.100.7, 10.0.0.5"],
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_of(ip("192.168.1.1"), &["1.2.3.4", "198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // Trusted peer without a header: the peer.
        assert_eq!(client_of(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
        // Nothing trusted configured: always the peer.
        assert_eq!(client_of(ip("10.0.0.2"), &["1.2.3.4"], &[]), ip("10.0.0.2"));
    }
}
