//! The `http` capability: outbound requests restricted to the admin's allow-list.
//!
//! Rules (each one closes an escape seen in other plugin hosts):
//! - The URL's scheme, host and port must match a granted pattern (`https://ntfy.sh`,
//!   `http://127.0.0.1:8080`, `https://*.example.com`, `https://hooks.example.com:*`). Without a port the
//!   pattern allows only the scheme's default port.
//! - The host resolves names itself, checks every address, and connects to the checked address (no
//!   second lookup an attacker's DNS could answer differently). Loopback, private, link-local (incl. cloud
//!   metadata), CGNAT, unspecified, multicast and other special addresses are refused unless the grant
//!   names that very IP address as its host.
//! - A `Host` header different from the URL's host is refused (CVE-2024-32980 was exactly this).
//! - Redirects are followed by the host, not by the client, and only to URLs that pass the same checks.
//! - Timeout (clamped to the call's remaining deadline) and a response-size cap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

/// One allow-list entry, e.g. `https://*.example.com` or `http://127.0.0.1:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern {
    scheme: String,
    /// Lowercase host; `*.example.com` matches subdomains (not the apex).
    host: String,
    /// `None` = the scheme's default port; `Some(None)` = any port (`:*`).
    port: Option<Option<u16>>,
}

impl TryFrom<String> for HostPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<HostPattern> for String {
    fn from(p: HostPattern) -> String {
        p.to_string()
    }
}

impl std::str::FromStr for HostPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid host pattern {s:?}: expected scheme://host[:port], e.g. https://ntfy.sh"
            )
        };
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "invalid host pattern {s:?}: scheme must be http or https"
            ));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            (
                format!("[{}]", h.to_ascii_lowercase()),
                after.strip_prefix(':'),
            )
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
                None => (rest.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => None,
            Some("*") => Some(None),
            Some(p) => Some(Some(p.parse::<u16>().map_err(|_| bad())?)),
        };
        let bare = host.strip_prefix("*.").unwrap_or(&host);
        if bare.is_empty() || bare.contains('*') {
            return Err(bad());
        }
        Ok(HostPattern { scheme, host, port })
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            None => Ok(()),
            Some(None) => write!(f, ":*"),
            Some(Some(p)) => write!(f, ":{p}"),
        }
    }
}

impl HostPattern {
    fn matches(&self, url: &Url) -> bool {
        let Some(host) = url_host(url) else {
            return false;
        };
        let host_ok = match self.host.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == self.host,
        };
        let port = url.port_or_known_default();
        let port_ok = match self.port {
            None => port == default_port(&self.scheme),
            Some(None) => true,
            Some(Some(p)) => port == Some(p),
        };
        url.scheme() == self.scheme && host_ok && port_ok
    }

    /// The IP address this pattern names literally, if any (which grants that special address).
    fn literal_ip(&self) -> Option<IpAddr> {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h.parse().ok()
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The URL's host as the patterns spell it (lowercase; IPv6 in brackets).
fn url_host(url: &Url) -> Option<String> {
    // The URL parser already normalised IP literals (IPv6 keeps its brackets) and lowercased names.
    url.host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

/// Addresses that reach the host itself, its networks or cloud metadata services.
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_special_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local, incl. AWS fd00:ec2::254
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 can reach IPv4 private space
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
        }
    }
}

fn is_special_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: AWS/GCP/Azure metadata live here
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10 (Alibaba metadata 100.100.100.200)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240 // reserved
}

/// The admin's grant for one plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpGrant {
    /// Allowed scheme/host/port patterns.
    pub allow: Vec<HostPattern>,
}

/// Limits of the capability.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Longest request (further clamped to the call's deadline).
    pub timeout: Duration,
    /// Largest response body.
    pub max_body: usize,
    /// Most redirects followed.
    pub max_redirects: u8,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
            max_redirects: 5,
        }
    }
}

/// A request as the plugin asked for it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
    /// Requested timeout.
    pub timeout: Option<Duration>,
    /// Follow redirects within the grant.
    pub follow_redirects: bool,
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body (capped).
    pub body: Vec<u8>,
}

/// Why a request failed; mirrors the WIT `http.error` variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
    /// Refused by policy.
    #[error("denied: {0}")]
    Denied(String),
    /// Timed out.
    #[error("timed out")]
    Timeout,
    /// Body over the cap.
    #[error("response too large")]
    TooLarge,
    /// Malformed request.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Network failure.
    #[error("transport error: {0}")]
    Transport(String),
}

impl HttpGrant {
    /// Check a URL against the allow-list (before DNS).
    pub fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(HttpError::Denied(format!(
                "scheme {} is not allowed",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HttpError::Denied(
                "credentials in the URL are not allowed".into(),
            ));
        }
        if self.allow.iter().any(|p| p.matches(url)) {
            Ok(())
        } else {
            let origin = url.origin().ascii_serialization();
            Err(HttpError::Denied(format!(
                "{origin} is not in the plugin's grant"
            )))
        }
    }

    /// Check the addresses `url`'s host resolved to: keep the acceptable ones, or say why none is. A
    /// special address passes only when a pattern names that IP literally *and* matches the URL's scheme
    /// and port, so a granted name that resolves to a granted loopback IP cannot reach other ports.
    pub fn check_addrs(
        &self,
        url: &Url,
        addrs: &[SocketAddr],
    ) -> Result<Vec<SocketAddr>, HttpError> {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default();
        let granted = |ip: IpAddr| {
            self.allow.iter().any(|p| {
                p.literal_ip() == Some(ip)
                    && p.scheme == url.scheme()
                    && match p.port {
                        None => port == default_port(&p.scheme),
                        Some(None) => true,
                        Some(Some(want)) => port == Some(want),
                    }
            })
        };
        let ok: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| !is_special(a.ip()) || granted(a.ip()))
            .collect();
        if ok.is_empty() {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            return Err(HttpError::Denied(format!(
                "{host} resolves to {} (loopback, private, link-local or metadata addresses need an explicit grant of the IP)",
                if list.is_empty() {
                    "nothing".to_string()
                } else {
                    list.join(", ")
                }
            )));
        }
        Ok(ok)
    }
}

/// Send a request under a grant. Runs on the tokio runtime (the sync host import blocks on it).
pub async fn send(
    grant: &HttpGrant,
    limits: HttpLimits,
    req: Request,
) -> Result<Response, HttpError> {
    let timeout = req.timeout.unwrap_or(limits.timeout).min(limits.timeout);
    match tokio::time::timeout(timeout, send_inner(grant, limits, req, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout),
    }
}

async fn send_inner(
    grant: &HttpGrant,
    limits: HttpLimits,
    req: Request,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let mut method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| HttpError::Invalid(format!("bad method {:?}", req.method)))?;
    let mut url = Url::parse(&req.url)
        .map_err(|e| HttpError::Invalid(format!("bad URL {:?}: {e}", req.url)))?;
    let mut body = req.body;
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &req.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("bad header name {name:?}")))?;
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| HttpError::Invalid(format!("bad value for header {name}")))?;
        headers.append(name, value);
    }
    let mut redirects = 0;
    loop {
        check_host_header(&headers, &url)?;
        let resp = send_once(grant, &method, &url, &headers, body.clone(), timeout).await?;
        let status = resp.status();
        if !(req.follow_redirects && status.is_redirection()) {
            return read_response(resp, limits.max_body).await;
        }
        let Some(location) = resp.headers().get(reqwest::header::LOCATION) else {
            return read_response(resp, limits.max_body).await;
        };
        redirects += 1;
        if redirects > limits.max_redirects {
            return Err(HttpError::Transport(format!(
                "more than {} redirects",
                limits.max_redirects
            )));
        }
        let location = location
            .to_str()
            .map_err(|_| HttpError::Transport("bad Location header".into()))?;
        let next = url
            .join(location)
            .map_err(|e| HttpError::Transport(format!("bad redirect {location:?}: {e}")))?;
        grant.check_url(&next).map_err(|e| match e {
            HttpError::Denied(why) => HttpError::Denied(format!("redirect to {next}: {why}")),
            other => other,
        })?;
        // Browsers' rules: 303 always becomes GET; 301/302 turn POST into GET; 307/308 keep everything.
        if status == reqwest::StatusCode::SEE_OTHER
            || (method == reqwest::Method::POST
                && (status == reqwest::StatusCode::MOVED_PERMANENTLY
                    || status == reqwest::StatusCode::FOUND))
        {
            method = reqwest::Method::GET;
            body = None;
        }
        // A redirect to another origin must not carry the plugin's credentials along.
        if next.origin() != url.origin() {
            headers.remove(reqwest::header::AUTHORIZATION);
            headers.remove(reqwest::header::COOKIE);
        }
        url = next;
    }
}

fn check_host_header(headers: &reqwest::header::HeaderMap, url: &Url) -> Result<(), HttpError> {
    let Some(host) = url_host(url) else {
        return Err(HttpError::Invalid("URL has no host".into()));
    };
    for value in headers.get_all(reqwest::header::HOST) {
        let v = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let with_port = url.port().map(|p| format!("{host}:{p}"));
        if v != host && Some(&v) != with_port.as_ref() {
            return Err(HttpError::Denied(format!(
                "Host header {v:?} differs from the URL's host {host:?}"
            )));
        }
    }
    Ok(())
}

async fn send_once(
    grant: &HttpGrant,
    method: &reqwest::Method,
    url: &Url,
    headers: &reqwest::header::HeaderMap,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<reqwest::Response, HttpError> {
    grant.check_url(url)?;
    let host = url
        .host_str()
        .ok_or_else(|| HttpError::Invalid("URL has no host".into()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| HttpError::Invalid("URL has no port".into()))?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| HttpError::Transport(format!("resolving {host}: {e}")))?
        .collect();
    let addrs = grant.check_addrs(url, &addrs)?;
    // Pin the name to the checked addresses so the connection goes where we looked. No proxies: an
    // environment proxy would connect somewhere we did not check.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .resolve_to_addrs(&host, &addrs)
        .build()
        .map_err(|e| HttpError::Transport(e.to_string()))?;
    let mut builder = client.request(method.clone(), url.clone());
    let mut headers = headers.clone();
    headers.remove(reqwest::header::HOST); // checked equal to the URL's; the client writes it
    builder = builder.headers(headers);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    builder.send().await.map_err(|e| {
        if e.is_timeout() {
            HttpError::Timeout
        } else {
            HttpError::Transport(without_url(&e))
        }
    })
}

fn without_url(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s = format!("{s}: {inner}");
        src = inner.source();
    }
    s
}

async fn read_response(mut resp: reqwest::Response, max: usize) -> Result<Response, HttpError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(HttpError::TooLarge);
    }
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        if e.is_timeout() {
            HttpError::Timeout
        } else {
            HttpError::Transport(without_url(&e))
        }
    })? {
        if body.len() + chunk.len() > max {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(patterns: &[&str]) -> HttpGrant {
        HttpGrant {
            allow: patterns
                .iter()
                .map(|p| p.parse().expect("pattern"))
                .collect(),
        }
    }

    fn check(patterns: &[&str], url: &str, allowed: bool) {
        let url = Url::parse(url).expect("url");
        assert_eq!(
            grant(patterns).check_url(&url).is_ok(),
            allowed,
            "{patterns:?} vs {url}"
        );
    }

    #[test]
    fn patterns_parse() {
        for bad in [
            "ntfy.sh",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://u@h",
            "https://*",
            "https://a.*.b",
            "https://h:99999",
        ] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad}");
        }
        for good in [
            "https://ntfy.sh",
            "http://127.0.0.1:8080",
            "https://*.example.com",
            "https://h:*",
            "http://[::1]:80",
        ] {
            assert_eq!(good.parse::<HostPattern>().expect(good).to_string(), good);
        }
    }

    #[test]
    fn allow_list() {
        check(&["https://ntfy.sh"], "https://ntfy.sh/topic", true);
        check(&["https://ntfy.sh"], "https://NTFY.sh./topic", true);
        check(&["https://ntfy.sh"], "http://ntfy.sh/topic", false);
        check(&["https://ntfy.sh"], "https://ntfy.sh:8443/", false);
        check(&["https://ntfy.sh"], "https://ntfy.sh.evil.com/", false);
        check(&["https://ntfy.sh"], "https://user:pw@ntfy.sh/", false);
        check(&["https://*.example.com"], "https://a.example.com/", true);
        check(&["https://*.example.com"], "https://example.com/", false);
        check(&["https://*.example.com"], "https://aexample.com/", false);
        check(&["https://h:*"], "https://h:1234/", true);
        check(&["http://127.0.0.1:8080"], "http://127.0.0.1:8080/x", true);
        check(&["http://127.0.0.1:8080"], "http://127.0.0.1:8081/x", false);
        check(&["http://[::1]:80"], "http://[::1]/", true);
        check(&[], "https://ntfy.sh/", false);
        check(&["https://ntfy.sh"], "file:///etc/passwd", false);
    }

    #[test]
    fn special_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "255.255.255.255",
            "224.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_special(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(!is_special(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn special_addresses_need_the_ip_granted() {
        let url = |u: &str| Url::parse(u).expect("url");
        let lo: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let by_name = grant(&["http://localhost:8080"]);
        assert!(
            by_name
                .check_addrs(&url("http://localhost:8080/"), &[lo])
                .is_err()
        );
        let by_ip = grant(&["http://127.0.0.1:8080"]);
        assert!(
            by_ip
                .check_addrs(&url("http://127.0.0.1:8080/"), &[lo])
                .is_ok()
        );
        // A granted name that resolves to a granted loopback IP reaches only the granted port.
        let both = grant(&["http://127.0.0.1:8080", "https://rebind.example"]);
        assert!(
            both.check_addrs(&url("https://rebind.example/"), &[lo])
                .is_err()
        );
        let public: SocketAddr = "1.1.1.1:443".parse().expect("addr");
        let ok = grant(&["https://x"])
            .check_addrs(&url("https://x/"), &[lo, public])
            .expect("public one");
        assert_eq!(
            ok,
            vec![public],
            "a name resolving to both keeps only the public address"
        );
    }

    #[test]
    fn host_header_must_match() {
        let url = Url::parse("http://127.0.0.1:8080/").expect("url");
        let mut h = reqwest::header::HeaderMap::new();
        assert!(check_host_header(&h, &url).is_ok());
        h.insert(reqwest::header::HOST, "127.0.0.1:8080".parse().expect("v"));
        assert!(check_host_header(&h, &url).is_ok());
        h.insert(
            reqwest::header::HOST,
            "metadata.google.internal".parse().expect("v"),
        );
        assert!(check_host_header(&h, &url).is_err());
    }
}
