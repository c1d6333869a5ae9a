//! Requests to a router in-process (no socket): bearer tokens, extra headers, JSON bodies, a TCP
//! peer as the server would see it; answers with status, headers and the decoded body.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A response: status, headers, JSON body (`Null` when empty, a string when not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A body as JSON: `Null` when empty, a string when it is not JSON.
pub fn decode(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// Sends `req` and reads the whole answer.
pub async fn send(router: &Router, req: Request<Body>) -> Resp {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: decode(&bytes),
    }
}

/// A request with optional bearer token, extra headers and JSON body.
pub fn request(
    method: Method,
    uri: &str,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    req.body(body).unwrap()
}

/// Sends a request with optional bearer token, extra headers and JSON body.
pub async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    send(router, request(method, uri, bearer, headers, body)).await
}

/// Like [`call`], from the TCP peer `peer` (`ip:port`, as the server would see it).
pub async fn call_from(
    router: &Router,
    peer: &str,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut req = request(method, uri, None, headers, body);
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    send(router, req).await
}

/// Sends a request and returns only the status (the body is not read: SSE streams never end).
pub async fn status_only(
    router: &Router,
    method: Method,
    uri: &str,
    bearer: Option<&str>,
) -> StatusCode {
    router
        .clone()
        .oneshot(request(method, uri, bearer, &[], None))
        .await
        .unwrap()
        .status()
}

/// A `multipart/form-data` body with one part per (name, content), each also named as a file
/// (`compose`, `name` and project files by their path): (content type, body).
pub fn multipart(parts: &[(&str, &str)]) -> (String, String) {
    const BOUNDARY: &str = "sdmd-test-boundary-7d1c";
    let mut body = String::new();
    for (name, content) in parts {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}
