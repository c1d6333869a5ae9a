//! Long-lived streams (`/api/v1/events`, `logs?follow=true`) outlive the request that opened
//! them, so the gate's one check is not enough: a guarded stream re-checks its credential every
//! `AppState::stream_recheck` (30 s) and at the access token's `exp`, and ends with an SSE
//! `event: error` carrying `{code, message}` (`unauthorized` after a sign-out, a revoked session
//! or API token, or expiry) instead of streaming on.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::Event as SseEvent;
use base64::Engine;
use futures_util::{Stream, StreamExt};

use super::error::ApiError;
use crate::state::AppState;

/// `inner`, ended with an `error` event as soon as the request's bearer credential stops
/// being valid.
pub fn guard<S>(
    state: &AppState,
    headers: &HeaderMap,
    inner: S,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static
where
    S: Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
{
    let bearer = super::auth::bearer(headers);
    let state = state.clone();
    async_stream::stream! {
        let Some(bearer) = bearer else {
            // The gate let the request through, so this does not happen; deny anyway.
            yield Ok(error_event(&unauthorized()));
            return;
        };
        let expires = jwt_exp(&bearer);
        let mut inner = std::pin::pin!(inner);
        loop {
            let wait = next_check(state.stream_recheck, expires);
            tokio::select! {
                item = inner.next() => match item {
                    Some(ev) => yield ev,
                    None => return,
                },
                () = tokio::time::sleep(wait) => {
                    if let Some(err) = recheck(&state, &bearer, expires).await {
                        yield Ok(error_event(&err));
                        return;
                    }
                }
            }
        }
    }
}

/// Why the credential no longer holds, or `None` while it does.
async fn recheck(state: &AppState, bearer: &str, expires: Option<i64>) -> Option<ApiError> {
    if expires.is_some_and(|exp| chrono::Utc::now().timestamp() >= exp) {
        return Some(unauthorized());
    }
    match state.auth.authenticate(&state.db, bearer).await {
        Ok(_) => None,
        Err(e) => Some(ApiError::from(e)),
    }
}

/// The wait until the next check: the interval, or less when the token expires sooner.
fn next_check(interval: Duration, expires: Option<i64>) -> Duration {
    let Some(exp) = expires else {
        return interval;
    };
    let left = exp.saturating_sub(chrono::Utc::now().timestamp());
    let left = Duration::from_secs(u64::try_from(left).unwrap_or(0));
    interval.min(left)
}

/// The `exp` of a JWT (already verified by the gate; read here only to time the check).
/// API tokens (`sdmd_…`) have none in them: their expiry is in the database, seen by the
/// periodic check.
fn jwt_exp(bearer: &str) -> Option<i64> {
    let payload = bearer.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_i64()
}

fn unauthorized() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthorized",
        "The credential of this stream is no longer valid; reconnect with a fresh token.",
    )
}

fn error_event(err: &ApiError) -> SseEvent {
    SseEvent::default()
        .event("error")
        .data(serde_json::json!({"code": err.body.code, "message": err.body.message}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_comes_at_exp_when_that_is_sooner() {
        let now = chrono::Utc::now().timestamp();
        let i = Duration::from_secs(30);
        assert_eq!(next_check(i, None), i);
        assert_eq!(next_check(i, Some(now + 3600)), i);
        assert!(next_check(i, Some(now + 5)) <= Duration::from_secs(5));
        assert_eq!(next_check(i, Some(now - 5)), Duration::ZERO);
    }

    #[test]
    fn exp_is_read_from_a_jwt_and_absent_from_api_tokens() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":42}"#);
        assert_eq!(jwt_exp(&format!("h.{claims}.s")), Some(42));
        assert_eq!(jwt_exp("sdmd_abcdef"), None);
        assert_eq!(jwt_exp("a.!!!.c"), None);
    }
}
