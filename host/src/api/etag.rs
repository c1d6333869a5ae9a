//! Answers with an `ETag` and `304 Not Modified` for a matching `If-None-Match`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::cache::Rendered;

/// The JSON answer `r` with its `ETag`, or 304 when the request's `If-None-Match` names it.
pub fn answer(request: &HeaderMap, r: Arc<Rendered>) -> Response {
    let tag = format!("\"{}\"", r.tag);
    let etag = HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    if matches(request, &tag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
        ],
        Body::from(bytes::Bytes::from_owner(Shared(r))),
    )
        .into_response()
}

/// A cached body shared with the cache (no copy per answer).
struct Shared(Arc<Rendered>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0.body
    }
}

/// Whether `If-None-Match` lists `tag` (or is `*`); weak tags compare equal (RFC 9110 §13.1.2).
fn matches(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// A body that could not be serialised: a fault of SDMD.
pub fn unrenderable(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "could not serialise an answer");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "An internal error occurred.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_weak_and_any() {
        let mut h = HeaderMap::new();
        assert!(!matches(&h, "\"a\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"b\", W/\"a\""),
        );
        assert!(matches(&h, "\"a\""));
        assert!(!matches(&h, "\"c\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, "\"c\""));
    }
}
