//! First run without env vars: the one-time setup code creates the first administrator through
//! `POST /api/v1/setup` (then refused), wrong codes are throttled and audited, the code dies once
//! used or expired, and supabase mode has no setup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use sdmd::auth::Auth;
use sdmd::config::{AuthConfig, AuthMode};
use serde_json::{Value, json};
use sqlx::PgPool;

use support::auth::{app_with, sign_in};
use support::db::audit_rows;
use support::http::{Resp, call};

const EMAIL: &str = "first@example.com";
const PASSWORD: &str = "a long first password";

async fn status(router: &axum::Router) -> Value {
    let r = call(router, Method::GET, "/api/v1/setup", None, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn post(router: &axum::Router, code: &str, email: &str, password: &str) -> Resp {
    call(
        router,
        Method::POST,
        "/api/v1/setup",
        None,
        &[],
        Some(json!({"code": code, "email": email, "password": password})),
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn the_setup_code_creates_the_first_administrator_once(pool: PgPool) {
    let auth = Auth::builtin();
    let (_, router) = app_with(pool.clone(), auth.clone());

    // No code issued yet (as before startup printed one): setup is pending but cannot be done.
    assert_eq!(
        status(&router).await,
        json!({"required": true, "code_active": false})
    );
    let r = post(&router, "ABCD-EFGH-JKMN-PQRS", EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert_eq!(r.body["code"], "setup_code_expired");

    let code = auth.issue_setup_code(&pool, false).await.unwrap().unwrap();
    assert_eq!(
        status(&router).await,
        json!({"required": true, "code_active": true})
    );

    // Bad fields are refused before the code is looked at (and it stays valid).
    let r = post(&router, &code, "not-an-email", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = post(&router, &code, EMAIL, "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = post(
        &router,
        &code,
        &format!("{}@example.com", "a".repeat(400)),
        PASSWORD,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = post(&router, &"A".repeat(65), EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // A wrong code: 400, audited as anonymous with the email in the details; no user.
    let r = post(&router, "0000-0000-0000-0000", EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_setup_code");
    assert_eq!(
        audit_rows(&pool, "auth.setup").await,
        vec![("anonymous".into(), None, "invalid_setup_code".into())]
    );
    assert_eq!(status(&router).await["required"], true);

    // The right code (typed in lower case): the administrator exists and is signed in.
    let r = post(&router, &code.to_lowercase(), EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["email"], EMAIL);
    assert_eq!(r.body["token_type"], "bearer");
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    let tokens = call(
        &router,
        Method::GET,
        "/api/v1/tokens",
        Some(&access),
        &[],
        None,
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let user = call(
        &router,
        Method::GET,
        "/auth/v1/user",
        Some(&access),
        &[],
        None,
    )
    .await;
    assert_eq!(user.body["email"], EMAIL);
    // The refresh token works like a sign-in's.
    let refreshed = call(
        &router,
        Method::POST,
        "/auth/v1/token?grant_type=refresh_token",
        None,
        &[],
        Some(json!({"refresh_token": r.body["refresh_token"]})),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    // And the password signs in.
    assert_eq!(
        sign_in(&router, EMAIL, PASSWORD).await.status,
        StatusCode::OK
    );
    let rows = audit_rows(&pool, "auth.setup").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], (EMAIL.into(), Some(EMAIL.into()), "ok".into()));

    // Done: no more setup, whatever code is sent.
    assert_eq!(
        status(&router).await,
        json!({"required": false, "code_active": false})
    );
    for c in [code.as_str(), "0000-0000-0000-0000"] {
        let r = post(&router, c, "second@example.com", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.body["code"], "setup_complete");
    }
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    // A restart with a user issues no code.
    assert_eq!(auth.issue_setup_code(&pool, false).await.unwrap(), None);
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_codes_are_throttled_and_expired_codes_refused(pool: PgPool) {
    let auth = Auth::builtin();
    let (_, router) = app_with(pool.clone(), auth.clone());
    auth.issue_setup_code(&pool, false).await.unwrap().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let r = post(&router, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", EMAIL, PASSWORD).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.body["code"], "over_request_rate_limit");
            assert!(r.body["details"]["retry_after_ms"].as_u64().unwrap() > 0);
            assert!(r.headers.contains_key("retry-after"));
        }
        statuses.push(r.status);
    }
    // Five free wrong codes, then the address waits between checked attempts (growing
    // delays): the attempts inside a wait are refused unchecked.
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, statuses.len(), "{statuses:?}");
    assert!(throttled > 0, "{statuses:?}");
    // Throttled attempts are aggregated: one row per checked attempt + one open window row.
    let rows = audit_rows(&pool, "auth.setup").await;
    assert!(
        rows.len() <= checked + 1,
        "{} rows for {checked} checked",
        rows.len()
    );
    assert!(rows.iter().any(|r| r.2 == "over_request_rate_limit"));
    // The code survived the guessing.
    assert_eq!(status(&router).await["code_active"], true);

    // An expired code is dead even when typed right.
    let code = auth.setup.issue(Duration::ZERO);
    sqlx::query("delete from login_throttle")
        .execute(&pool)
        .await
        .unwrap();
    let r = post(&router, &code, EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert_eq!(r.body["code"], "setup_code_expired");
    assert_eq!(status(&router).await["code_active"], false);
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_setups_create_one_administrator(pool: PgPool) {
    let auth = Auth::builtin();
    let (_, router) = app_with(pool.clone(), auth.clone());
    let code = auth.issue_setup_code(&pool, false).await.unwrap().unwrap();
    let attempts = (0..4).map(|i| {
        let (router, code) = (router.clone(), code.clone());
        async move { post(&router, &code, &format!("admin{i}@example.com"), PASSWORD).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        assert!(
            [StatusCode::GONE, StatusCode::CONFLICT].contains(&r.status),
            "{}",
            r.body
        );
    }
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn env_vars_and_supabase_mode_need_no_setup(pool: PgPool) {
    // The variables keep working: the administrator exists, so no code is issued.
    sdmd::auth::builtin::bootstrap_admin(&pool, Some(EMAIL), Some(PASSWORD))
        .await
        .unwrap()
        .unwrap();
    let auth = Auth::builtin();
    assert_eq!(auth.issue_setup_code(&pool, false).await.unwrap(), None);
    let (_, router) = app_with(pool.clone(), auth);
    assert_eq!(status(&router).await["required"], false);
    assert_eq!(
        sign_in(&router, EMAIL, PASSWORD).await.status,
        StatusCode::OK
    );

    // Supabase mode: users live in Supabase; no setup, even on an empty users table.
    sqlx::query("delete from users")
        .execute(&pool)
        .await
        .unwrap();
    let supa = Auth::new(AuthConfig {
        mode: AuthMode::Supabase,
        supabase_jwt_secret: Some("x".repeat(40)),
        supabase_admins: Some(EMAIL.into()),
        ..AuthConfig::default()
    });
    assert_eq!(supa.issue_setup_code(&pool, false).await.unwrap(), None);
    let (_, router) = app_with(pool, supa);
    assert_eq!(status(&router).await["required"], false);
    let r = post(&router, "ABCD-EFGH-JKMN-PQRS", EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["code"], "builtin_auth_disabled");
}
