//! The app in-process with a chosen auth (built-in by default, with an administrator), and
//! sign-in through the GoTrue password grant. Docker is not contacted.

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use sdmd::auth::Auth;
use sdmd::db::audit::AuditContext;
use sdmd::docker::Docker;
use sdmd::state::AppState;
use serde_json::json;
use sqlx::PgPool;

use super::http::{Resp, call};

pub const ADMIN: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// The state over `pool` with the given auth. Docker is not contacted.
pub fn state_with(pool: PgPool, auth: Arc<Auth>) -> AppState {
    sdmd::server::init_tracing("text");
    AppState::new(pool, Docker::new(None)).with_auth(auth)
}

/// The app over `pool` with the given auth. Docker is not contacted.
pub fn app_with(pool: PgPool, auth: Arc<Auth>) -> (AppState, Router) {
    let state = state_with(pool, auth);
    let router = sdmd::api::app(state.clone());
    (state, router)
}

/// Built-in auth with an administrator ([`ADMIN`], [`PASSWORD`]) already created.
pub async fn app(pool: PgPool) -> (AppState, Router) {
    sdmd::auth::builtin::add_user(&pool, &AuditContext::system(), ADMIN, PASSWORD)
        .await
        .unwrap();
    app_with(pool, Auth::builtin())
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
