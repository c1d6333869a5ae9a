//! Built-in auth: the GoTrue subset supabase-js uses, refresh rotation and reuse detection,
//! throttling, JWKS, CORS and security headers, API tokens, and their audit rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sqlx::PgPool;

use support::auth::{ADMIN, PASSWORD, admin_token, app, app_with, sign_in};
use support::db::audit_rows;
use support::http::{Resp, call, call_from};

async fn refresh(router: &axum::Router, token: &str) -> Resp {
    call(
        router,
        Method::POST,
        "/auth/v1/token?grant_type=refresh_token",
        None,
        &[],
        Some(json!({"refresh_token": token})),
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn password_grant_has_gotrue_shape(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let r = sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["x-supabase-api-version"], "2024-01-01");
    let b = &r.body;
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 3600);
    assert!(b["expires_at"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    assert!(b["refresh_token"].as_str().unwrap().len() >= 32);
    assert_eq!(b["user"]["email"], ADMIN);
    assert_eq!(b["user"]["aud"], "authenticated");
    assert_eq!(b["user"]["role"], "authenticated");
    assert_eq!(b["user"]["app_metadata"]["provider"], "email");

    // The token verifies with the published JWKS and carries Supabase's claims.
    let jwks = call(
        &router,
        Method::GET,
        "/auth/v1/.well-known/jwks.json",
        None,
        &[],
        None,
    )
    .await
    .body;
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    let access = b["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&["authenticated"]);
    let claims = jsonwebtoken::decode::<Value>(access, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    for k in [
        "sub",
        "aud",
        "role",
        "exp",
        "iat",
        "email",
        "session_id",
        "aal",
        "amr",
        "is_anonymous",
    ] {
        assert!(claims.get(k).is_some(), "claim {k} missing: {claims}");
    }
    assert_eq!(claims["sub"], b["user"]["id"]);

    let me = call(
        &router,
        Method::GET,
        "/auth/v1/user",
        Some(access),
        &[],
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], ADMIN);
    assert_eq!(me.body["id"], b["user"]["id"]);
    assert_eq!(
        audit_rows(&pool, "auth.login").await,
        vec![(ADMIN.to_owned(), Some(ADMIN.to_owned()), "ok".to_owned())]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_password_and_unknown_user_look_the_same(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let wrong = sign_in(&router, ADMIN, "not the password").await;
    let unknown = sign_in(&router, "nobody@example.com", PASSWORD).await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["code"], "invalid_credentials");
        assert_eq!(r.body["message"], "Invalid login credentials");
        assert_eq!(r.headers["x-supabase-api-version"], "2024-01-01");
    }
    let rows = audit_rows(&pool, "auth.login").await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|(_, _, result)| result == "invalid_credentials"),
        "{rows:?}"
    );
    // Nobody is authenticated yet: the actor is `anonymous`, the attempted email is a detail
    // (the target names the account only when it exists).
    let stored: Vec<(String, Option<String>, Value)> = sqlx::query_as(
        "select actor, target, details from audit_log where action = 'auth.login' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored[0].0, "anonymous", "{stored:?}");
    assert_eq!(stored[0].1.as_deref(), Some(ADMIN));
    assert_eq!(stored[0].2["email"], ADMIN);
    assert_eq!(stored[1].0, "anonymous", "{stored:?}");
    assert_eq!(stored[1].1, None);
    assert_eq!(stored[1].2["email"], "nobody@example.com");
}

#[sqlx::test(migrations = "../migrations")]
async fn oversized_credentials_are_refused_and_leave_no_row(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let long_email = format!("{}@example.com", "a".repeat(1024 * 1024));
    let just_over = format!("{}@example.com", "b".repeat(321 - "@example.com".len()));
    assert_eq!(just_over.len(), 321);
    for (email, password) in [
        (long_email.as_str(), PASSWORD),
        (just_over.as_str(), PASSWORD),
        (ADMIN, &*"p".repeat(1025)),
    ] {
        let r = sign_in(&router, email, password).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.body["code"], "validation_failed", "{}", r.body);
    }
    assert!(audit_rows(&pool, "auth.login").await.is_empty());
    // At the limits exactly, the request is an ordinary (wrong) sign-in.
    let at_limit = format!("{}@example.com", "c".repeat(320 - "@example.com".len()));
    let r = sign_in(&router, &at_limit, &"p".repeat(1024)).await;
    assert_eq!(r.body["code"], "invalid_credentials", "{}", r.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn request_ids_are_made_by_the_server(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let forged = "x".repeat(4000);
    let r = call(
        &router,
        Method::POST,
        "/auth/v1/token?grant_type=password",
        None,
        &[("x-request-id", &forged)],
        Some(json!({"email": ADMIN, "password": "wrong password"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let answered = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&answered).is_ok(), "{answered}");
    let (request_id, client_request_id): (Option<String>, Option<String>) = sqlx::query_as(
        "select request_id, client_request_id from audit_log where action = 'auth.login'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(request_id.as_deref(), Some(answered.as_str()));
    let kept = client_request_id.expect("the client's id is kept apart");
    assert!(
        kept.len() <= 256 && forged.starts_with(kept.trim_end_matches('…')),
        "{kept}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn throttled_attempts_are_aggregated(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    for _ in 0..5 {
        sign_in(&router, ADMIN, "wrong password").await;
    }
    let mut throttled = 0;
    for _ in 0..1000 {
        if sign_in(&router, ADMIN, "wrong password").await.status == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert!(throttled > 900, "only {throttled} of 1000 throttled");
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "select actor, details from audit_log where result = 'over_request_rate_limit' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        (1..=2).contains(&rows.len()),
        "{throttled} throttled attempts wrote {} rows",
        rows.len()
    );
    assert_eq!(rows[0].0, "anonymous");
    assert_eq!(rows[0].1["email"], ADMIN);
    assert_eq!(rows[0].1["window"], "opened");
    // The window closes (every minute once its 15 minutes are up; here: as at shutdown) with
    // one row that carries the count.
    assert_eq!(
        sdmd::db::audit::close_windows(&pool, true).await.unwrap(),
        1
    );
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "select actor, details from audit_log where result = 'over_request_rate_limit' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1].1["window"], "closed");
    assert_eq!(rows[1].1["attempts"], throttled, "{}", rows[1].1);
    assert!(matches!(
        sdmd::db::audit::verify(&pool, sdmd::db::audit::key())
            .await
            .unwrap(),
        sdmd::db::audit::Verification::Intact { .. }
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let first = sign_in(&router, ADMIN, PASSWORD).await.body;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = refresh(&router, r1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access2 = second.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &router,
            Method::GET,
            "/auth/v1/user",
            Some(&access2),
            &[],
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    // Reusing r1: refused, and the whole session ends (r2 and the access token die too).
    let reuse = refresh(&router, r1).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.body["code"], "refresh_token_already_used");
    assert_eq!(refresh(&router, &r2).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(
            &router,
            Method::GET,
            "/auth/v1/user",
            Some(&access2),
            &[],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(audit_rows(&pool, "auth.refresh_reuse").await.len(), 1);

    let unknown = refresh(&router, "nope").await;
    assert_eq!(unknown.body["code"], "refresh_token_not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn logout_ends_the_session(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let s = sign_in(&router, ADMIN, PASSWORD).await.body;
    let access = s["access_token"].as_str().unwrap();
    let out = call(
        &router,
        Method::POST,
        "/auth/v1/logout",
        Some(access),
        &[],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        refresh(&router, s["refresh_token"].as_str().unwrap())
            .await
            .body["code"],
        "refresh_token_not_found"
    );
    assert_eq!(
        call(
            &router,
            Method::GET,
            "/auth/v1/user",
            Some(access),
            &[],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        audit_rows(&pool, "auth.logout").await,
        vec![(ADMIN.to_owned(), Some(ADMIN.to_owned()), "ok".to_owned())]
    );
}

/// How long a 429 asks the client to wait.
fn retry_after(r: &Resp) -> std::time::Duration {
    let ms = r.body["details"]["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("a 429 says how long to wait: {}", r.body));
    let header: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        header,
        ms.div_ceil(1000),
        "Retry-After is the same wait in seconds"
    );
    std::time::Duration::from_millis(ms)
}

#[sqlx::test(migrations = "../migrations")]
async fn the_owner_signs_in_after_the_delay_ten_failures_earned(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let (mut failures, mut waited) = (0, std::time::Duration::ZERO);
    while failures < 10 {
        let r = sign_in(&router, ADMIN, "wrong password").await;
        match r.status {
            StatusCode::BAD_REQUEST => failures += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after(&r);
                assert!(wait.as_secs() < 60, "{wait:?} after {failures} failures");
                tokio::time::sleep(wait + std::time::Duration::from_millis(20)).await;
                waited += wait;
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    // Within the delay even the right password is not checked…
    let early = sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(
        early.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        early.body
    );
    assert_eq!(early.body["code"], "over_request_rate_limit");
    let wait = retry_after(&early);
    // …and after it, it signs in: no lockout of the owner.
    tokio::time::sleep(wait + std::time::Duration::from_millis(20)).await;
    let ok = sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    println!("waited {waited:?} during 10 failures, then {wait:?} before the correct password");
    // Success clears the account's delay.
    assert_eq!(
        sign_in(&router, ADMIN, "wrong password").await.body["code"],
        "invalid_credentials"
    );
}

/// A sign-in from `ip` (the TCP peer, as the server sees it).
async fn sign_in_from(router: &axum::Router, ip: &str, email: &str, pw: &str) -> StatusCode {
    call_from(
        router,
        &format!("{ip}:4000"),
        Method::POST,
        "/auth/v1/token?grant_type=password",
        &[],
        Some(json!({"email": email, "password": pw})),
    )
    .await
    .status
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_wrong_passwords_are_counted_atomically(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move {
                sign_in_from(&router, &format!("10.8.0.{i}"), ADMIN, "wrong password").await
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::BAD_REQUEST => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    // Five attempts are free; each attempt reserves its place before the password is checked,
    // so concurrent ones cannot all slip through (one more may, if the first delay already ran out).
    assert!(
        checked <= 6,
        "{checked} of 20 concurrent wrong passwords were checked"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_sign_ins_of_one_owner_never_fail(pool: PgPool) {
    // Counting an attempt and clearing the account after a success lock the same rows: in the
    // same order, or concurrent sign-ins deadlock (PostgreSQL aborts one: a 500).
    let (_, router) = app(pool.clone()).await;
    for round in 0..3 {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let router = router.clone();
                let pw = if i % 4 == 0 {
                    "wrong password"
                } else {
                    PASSWORD
                };
                tokio::spawn(async move { sign_in_from(&router, "10.7.0.1", ADMIN, pw).await })
            })
            .collect();
        for t in tasks {
            let status = t.await.unwrap();
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::BAD_REQUEST,
                    StatusCode::TOO_MANY_REQUESTS
                ]
                .contains(&status),
                "round {round}: {status}"
            );
        }
        sqlx::query("delete from login_throttle")
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn one_pooled_connection_serves_every_auth_request(pool: PgPool) {
    sdmd::auth::builtin::add_user(
        &pool,
        &sdmd::db::audit::AuditContext::system(),
        ADMIN,
        PASSWORD,
    )
    .await
    .unwrap();
    // A pool of one: any request that needs a second connection at once waits forever (here:
    // the acquire timeout, then an error).
    let opts = pool.connect_options().as_ref().clone();
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect_with(opts)
        .await
        .unwrap();
    let (_, router) = app_with(one, sdmd::auth::Auth::builtin());
    let s = sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(
        sign_in(&router, ADMIN, "wrong password").await.status,
        StatusCode::BAD_REQUEST
    );
    let r = refresh(&router, s.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "refresh: {}", r.body);
    let access = r.body["access_token"].as_str().unwrap();
    let me = call(
        &router,
        Method::GET,
        "/auth/v1/user",
        Some(access),
        &[],
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let t = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(access),
        &[],
        Some(json!({"name": "one-conn"})),
    )
    .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let out = call(
        &router,
        Method::POST,
        "/auth/v1/logout",
        Some(access),
        &[],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_floods_do_not_starve_authenticated_requests(pool: PgPool) {
    // The production pool (10 connections) and a live Docker watcher, so `GET /api/v1/services`
    // does what it does in production.
    let opts = pool.connect_options().as_ref().clone();
    let prod = sdmd::db::connect_with(opts).await.unwrap();
    sdmd::auth::builtin::add_user(
        &prod,
        &sdmd::db::audit::AuditContext::system(),
        ADMIN,
        PASSWORD,
    )
    .await
    .unwrap();
    let (state, router) = app_with(prod, sdmd::auth::Auth::builtin());
    let watcher = state.spawn_watcher();
    for _ in 0..200 {
        if state.live.connected() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(state.live.connected(), "the Docker watcher did not connect");
    let token = admin_token(&router).await;

    // 30 concurrent attackers (own addresses, unknown accounts: each attempt costs an argon2).
    let attackers: Vec<_> = (0..30)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move {
                for k in 0..5 {
                    let email = format!("nobody-{i}-{k}@example.com");
                    let status =
                        sign_in_from(&router, &format!("10.9.0.{i}"), &email, "wrong").await;
                    assert_eq!(status, StatusCode::BAD_REQUEST);
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    while latencies.len() < 20 || attackers.iter().any(|a| !a.is_finished()) {
        let t0 = std::time::Instant::now();
        let r = call(
            &router,
            Method::GET,
            "/api/v1/services",
            Some(&token),
            &[],
            None,
        )
        .await;
        latencies.push(t0.elapsed());
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for a in attackers {
        a.await.unwrap();
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    println!(
        "services list under 30 concurrent sign-in attackers: {} requests, p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        p99,
        latencies.last().unwrap()
    );
    assert!(p99 < std::time::Duration::from_secs(1), "p99 {p99:?}");
    state.shutdown.cancel();
    let _ = watcher.await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cors_and_security_headers(pool: PgPool) {
    let (_, router) = app(pool).await;
    let pre = call(
        &router,
        Method::OPTIONS,
        "/auth/v1/token?grant_type=password",
        None,
        &[
            ("origin", "http://dashboard.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "apikey,authorization,x-client-info,content-type,x-supabase-api-version",
            ),
        ],
        None,
    )
    .await;
    assert!(pre.status.is_success(), "preflight: {}", pre.status);
    let allowed = pre.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in ["apikey", "authorization", "x-client-info", "content-type"] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    let r = call(
        &router,
        Method::GET,
        "/healthz",
        None,
        &[("origin", "http://dashboard.example")],
        None,
    )
    .await;
    let exposed = r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-supabase-api-version"), "{exposed}");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    // Plain HTTP in-process: no HSTS (it is added when SDMD serves TLS itself).
    assert!(r.headers.get("strict-transport-security").is_none());
}

#[sqlx::test(migrations = "../migrations")]
async fn api_tokens_are_shown_once_hashed_usable_and_audited(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let admin = admin_token(&router).await;
    let created = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&admin),
        &[],
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("sdmd_") && secret.starts_with(created.body["prefix"].as_str().unwrap())
    );
    let stored: Vec<(String,)> = sqlx::query_as("select secret_hash from api_tokens")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|(h,)| !h.contains(&secret) && h.len() == 64),
        "stored in clear?"
    );

    let listed = call(
        &router,
        Method::GET,
        "/api/v1/tokens",
        Some(&admin),
        &[],
        None,
    )
    .await
    .body;
    assert_eq!(listed["tokens"][0]["name"], "ci");
    assert!(
        !listed.to_string().contains(&secret),
        "listing leaks the secret"
    );

    let dup = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&admin),
        &[],
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // A token cannot mint tokens (they would outlive its revocation): a user session must.
    let minted = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&secret),
        &[],
        Some(json!({"name": "deploy-bot"})),
    )
    .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.body);
    assert_eq!(minted.body["code"], "user_session_required");
    let second = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&admin),
        &[],
        Some(json!({"name": "deploy-bot"})),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let rows = audit_rows(&pool, "token.create").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, ADMIN);
    // The token acts, and the audit log names it by name and id (names are reused after
    // revocation; ids are not).
    let ci_id = created.body["id"].as_str().unwrap().to_owned();
    let bot_id = second.body["id"].as_str().unwrap();
    let del = call(
        &router,
        Method::DELETE,
        &format!("/api/v1/tokens/{bot_id}"),
        Some(&secret),
        &[],
        None,
    )
    .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        audit_rows(&pool, "token.revoke").await[0].0,
        format!("token:ci:{ci_id}")
    );

    let id = created.body["id"].as_str().unwrap();
    let del = call(
        &router,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(
            &router,
            Method::GET,
            "/api/v1/tokens",
            Some(&secret),
            &[],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(audit_rows(&pool, "token.revoke").await.len(), 2);

    // Expired tokens stop working.
    let past = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&admin),
        &[],
        Some(json!({"name": "old", "expires_at": "2000-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = "../migrations")]
async fn audit_csv_export(pool: PgPool) {
    let (_, router) = app(pool).await;
    let admin = admin_token(&router).await;
    let r = call(
        &router,
        Method::GET,
        "/api/v1/audit.csv?action=auth.*",
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.body.as_str().unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,at,actor,action,target,result,request_id,client_ip,details,hash,client_request_id"
    );
    let row = lines.next().expect("the login row");
    assert!(row.contains("auth.login") && row.contains(ADMIN), "{row}");
}

#[sqlx::test(migrations = "../migrations")]
async fn old_revoked_sessions_are_forgotten_on_sign_in(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    let s = sign_in(&router, ADMIN, PASSWORD).await.body;
    let access = s["access_token"].as_str().unwrap();
    assert_eq!(
        call(
            &router,
            Method::POST,
            "/auth/v1/logout",
            Some(access),
            &[],
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    sqlx::query("update auth_sessions set revoked_at = now() - interval '40 days'")
        .execute(&pool)
        .await
        .unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from auth_sessions")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 1);
    sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(
        count().await,
        1,
        "the old session is gone, the new one exists"
    );
    let tokens: i64 = sqlx::query_scalar("select count(*) from refresh_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tokens, 1);
}

/// Sign-in from `peer` with an `X-Forwarded-For` header; returns the audited client address.
async fn audited_ip(router: &axum::Router, pool: &PgPool, peer: &str, xff: &str) -> Option<String> {
    let resp = call_from(
        router,
        peer,
        Method::POST,
        "/auth/v1/token?grant_type=password",
        &[("x-forwarded-for", xff)],
        Some(json!({"email": ADMIN, "password": "wrong-password"})),
    )
    .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    sqlx::query_scalar(
        "select client_ip from audit_log where action = 'auth.login' order by id desc limit 1",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn forwarded_for_is_honoured_only_from_trusted_proxies(pool: PgPool) {
    sdmd::auth::builtin::add_user(
        &pool,
        &sdmd::db::audit::AuditContext::system(),
        ADMIN,
        PASSWORD,
    )
    .await
    .unwrap();
    let mut state = sdmd::state::AppState::new(pool.clone(), sdmd::docker::Docker::new(None));
    state.trusted_proxies =
        std::sync::Arc::new(sdmd::api::client_ip::parse_list("10.0.0.0/8").unwrap());
    let router = sdmd::api::app(state);
    assert_eq!(
        audited_ip(&router, &pool, "10.1.2.3:5555", "198.51.100.7")
            .await
            .as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(
        audited_ip(&router, &pool, "203.0.113.9:5555", "198.51.100.7")
            .await
            .as_deref(),
        Some("203.0.113.9")
    );
    // Throttling counts the resolved client: the spoofing peer was counted as itself.
    let keys: Vec<String> = sqlx::query_scalar(
        "select key from login_throttle where key like 'ip:%' and failures > 0 order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(keys, ["ip:198.51.100.7", "ip:203.0.113.9"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn audit_csv_is_streamed(pool: PgPool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (_, router) = app(pool.clone()).await;
    let admin = admin_token(&router).await;
    let mut conn = pool.acquire().await.unwrap();
    for i in 0..1100 {
        sdmd::db::audit::record(
            &mut conn,
            &sdmd::db::audit::AuditContext {
                actor: "tester".into(),
                ..Default::default()
            },
            &sdmd::db::audit::NewEntry {
                action: "test.bulk",
                target: Some(&format!("row-{i}")),
                result: "ok",
                details: json!({"i": i}),
            },
        )
        .await
        .unwrap();
    }
    drop(conn);
    let req = axum::http::Request::builder()
        .uri("/api/v1/audit.csv?action=test.bulk&limit=1000")
        .header("authorization", format!("Bearer {admin}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers().get("content-length").is_none(),
        "a streamed body has no length up front"
    );
    let mut body = resp.into_body();
    let (mut frames, mut text) = (0, String::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames += 1;
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    assert!(
        frames >= 3,
        "{frames} frame(s): the export was built in memory"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1001, "header and the newest 1000 rows");
    assert!(lines[0].starts_with("id,at,actor"));
    // Oldest first within the newest 1000: rows 100..1099.
    assert!(lines[1].contains(",row-100,"), "{}", lines[1]);
    assert!(lines[1000].contains(",row-1099,"), "{}", lines[1000]);
}

#[sqlx::test(migrations = "../migrations")]
async fn expired_sessions_refuse_refresh(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    // Absolute lifetime (30 days by default), however recently refreshed.
    let s = sign_in(&router, ADMIN, PASSWORD).await.body;
    sqlx::query(
        "update auth_sessions set created_at = now() - interval '31 days', refreshed_at = now() - interval '1 hour'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let r = refresh(&router, s["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], "session_expired");
    let me = call(
        &router,
        Method::GET,
        "/auth/v1/user",
        s["access_token"].as_str(),
        &[],
        None,
    )
    .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "an expired session's access token"
    );

    // Idle timeout (7 days by default): signed in 8 days ago, never refreshed since.
    let s = sign_in(&router, ADMIN, PASSWORD).await.body;
    let session: uuid::Uuid = sqlx::query_scalar(
        "select id from auth_sessions where created_at > now() - interval '1 minute'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("update auth_sessions set created_at = now() - interval '8 days' where id = $1")
        .bind(session)
        .execute(&pool)
        .await
        .unwrap();
    let r = refresh(&router, s["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], "session_expired");

    // A session within both limits refreshes.
    let s = sign_in(&router, ADMIN, PASSWORD).await.body;
    let r = refresh(&router, s["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Both limits are configurable (SDMD_SESSION_LIFETIME_SECS, SDMD_SESSION_IDLE_SECS): with a
    // 2-hour idle timeout, a session refreshed 3 hours ago has ended.
    let (_, short) = app_with(
        pool.clone(),
        sdmd::auth::Auth::new(sdmd::config::AuthConfig {
            session_idle_secs: 2 * 3600,
            ..Default::default()
        }),
    );
    let s = sign_in(&short, ADMIN, PASSWORD).await.body;
    sqlx::query("update auth_sessions set created_at = now() - interval '3 hours' where revoked_at is null and created_at > now() - interval '1 minute'")
        .execute(&pool)
        .await
        .unwrap();
    let r = refresh(&short, s["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.body["code"], "session_expired", "{}", r.body);
    assert_eq!(
        r.body["message"],
        "Invalid Refresh Token: Session Expired (Inactivity)"
    );
}

/// Reads an SSE body until the server ends it (or `bound` passes: then the stream outlived
/// its credential and the test fails). Returns the text received.
async fn read_until_end(body: axum::body::Body, bound: std::time::Duration) -> String {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => panic!("the stream was still open after {bound:?}: {text}"),
            Ok(None) => return text,
            Ok(Some(frame)) => {
                if let Ok(data) = frame.unwrap().into_data() {
                    text.push_str(&String::from_utf8_lossy(&data));
                }
            }
        }
    }
}

/// A stream opened with a session ends with `event: error` / `unauthorized` once the session
/// is signed out (issue 11, item 4): the re-check interval is shortened so the test needn't wait
/// 30 s; the bound is the 35 s.
#[sqlx::test(migrations = "../migrations")]
async fn event_stream_ends_when_its_session_signs_out(pool: PgPool) {
    use tower::ServiceExt;
    sdmd::auth::builtin::add_user(
        &pool,
        &sdmd::db::audit::AuditContext::system(),
        ADMIN,
        PASSWORD,
    )
    .await
    .unwrap();
    let mut state = sdmd::state::AppState::new(pool, sdmd::docker::Docker::new(None));
    state.stream_recheck = std::time::Duration::from_millis(200);
    let router = sdmd::api::app(state);
    let access = admin_token(&router).await;
    let open = |bearer: String| {
        let router = router.clone();
        async move {
            router
                .oneshot(
                    axum::http::Request::get("/api/v1/events")
                        .header("authorization", format!("Bearer {bearer}"))
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
        }
    };
    let resp = open(access.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let out = call(
        &router,
        Method::POST,
        "/auth/v1/logout",
        Some(&access),
        &[],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let text = read_until_end(resp.into_body(), std::time::Duration::from_secs(35)).await;
    assert!(text.contains("event: error"), "{text}");
    let data = text
        .lines()
        .skip_while(|l| *l != "event: error")
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data after the error event: {text}"));
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["code"], "unauthorized", "{text}");
    // A new stream with the signed-out token is refused outright.
    assert_eq!(open(access).await.status(), StatusCode::UNAUTHORIZED);
}

/// A sign-in whose transaction began before another one's, and waited for that one's lock,
/// decides with the time it got the lock: the other's `next_at` (its own clock plus a zero
/// delay) is not in this one's future, so it is not throttled for the difference. (Found as a
/// spurious 429 among concurrent first-run setups on a loaded machine.)
#[sqlx::test(migrations = "../migrations")]
async fn a_throttle_decision_reads_the_clock_after_the_lock(pool: PgPool) {
    use sdmd::db::auth::{count_attempt, lock_throttle};
    let mut early = pool.begin().await.unwrap();
    sqlx::query("select now()")
        .execute(&mut *early)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut later = pool.begin().await.unwrap();
    let t = lock_throttle(&mut later, "account:race@example.com")
        .await
        .unwrap();
    count_attempt(&mut later, "account:race@example.com", 1, t.now, t.now)
        .await
        .unwrap();
    later.commit().await.unwrap();
    let seen = lock_throttle(&mut early, "account:race@example.com")
        .await
        .unwrap();
    assert!(
        seen.next_at <= seen.now,
        "next_at {} is after the deciding clock {}",
        seen.next_at,
        seen.now
    );
}
