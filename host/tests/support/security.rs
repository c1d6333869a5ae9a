//! Helpers shared by the security tests: an in-process app on a fresh database, requests with
//! headers, and a signed-in administrator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use sdmd::auth::Auth;
use sdmd::db::audit::AuditContext;
use sdmd::docker::Docker;
use sdmd::state::AppState;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

pub const ADMIN: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// A response: status, headers, JSON body (`Null` when empty, a string when not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// The app over `pool` with the given auth (built-in by default). Docker is not contacted.
pub fn app_with(pool: PgPool, auth: Arc<Auth>) -> (AppState, Router) {
    sdmd::server::init_tracing("text");
    let state = AppState::new(pool, Docker::new(None)).with_auth(auth);
    let router = sdmd::api::app(state.clone());
    (state, router)
}

/// Built-in auth with an administrator already created.
pub async fn app(pool: PgPool) -> (AppState, Router) {
    sdmd::auth::builtin::add_user(&pool, &AuditContext::system(), ADMIN, PASSWORD)
        .await
        .unwrap();
    app_with(pool, Auth::builtin())
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
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// Signs in with the password grant and returns the token response.
pub async fn sign_in(router: &Router, email: &str, password: &str) -> Resp {
    call(
        router,
        Method::POST,
        "/auth/v1/token?grant_type=password",
        None,
        &[],
        Some(json!({"email": email, "password": password})),
    )
    .await
}

/// An administrator's access token.
pub async fn admin_token(router: &Router) -> String {
    let r = sign_in(router, ADMIN, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "sign-in failed: {}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// The audit rows of one action, oldest first: (actor, target, result).
pub async fn audit_rows(pool: &PgPool, action: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as("select actor, target, result from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Sends a request and returns only the status (the body is not read: SSE streams never end).
pub async fn status_only(
    router: &Router,
    method: Method,
    uri: &str,
    bearer: Option<&str>,
) -> StatusCode {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}
