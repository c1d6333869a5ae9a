//! Built-in auth: the GoTrue subset supabase-js uses, refresh rotation and reuse detection,
//! throttling, JWKS, CORS and security headers, API tokens, and their audit rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/security.rs"]
mod security;

use axum::http::{Method, StatusCode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sqlx::PgPool;

use security::{ADMIN, PASSWORD, app, audit_rows, call, sign_in};

async fn refresh(router: &axum::Router, token: &str) -> security::Resp {
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

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_is_throttled_per_account(pool: PgPool) {
    let (_, router) = app(pool.clone()).await;
    for _ in 0..sdmd::auth::builtin::MAX_FAILURES_PER_ACCOUNT {
        assert_eq!(
            sign_in(&router, ADMIN, "wrong password").await.body["code"],
            "invalid_credentials"
        );
    }
    // Now even the right password is refused until the window passes.
    let r = sign_in(&router, ADMIN, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["code"], "over_request_rate_limit");
    let rows = audit_rows(&pool, "auth.login").await;
    assert_eq!(rows.last().unwrap().2, "over_request_rate_limit");
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
    let admin = security::admin_token(&router).await;
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

    // The token acts, and the audit log names it.
    let dup = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&secret),
        &[],
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let second = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&secret),
        &[],
        Some(json!({"name": "deploy-bot"})),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let rows = audit_rows(&pool, "token.create").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, ADMIN);
    assert_eq!(rows[1].0, "token:ci");

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
    assert_eq!(audit_rows(&pool, "token.revoke").await.len(), 1);

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
    let admin = security::admin_token(&router).await;
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
        "id,at,actor,action,target,result,request_id,client_ip,details,hash"
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
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/auth/v1/token?grant_type=password")
        .header("content-type", "application/json")
        .header("x-forwarded-for", xff)
        .body(axum::body::Body::from(
            json!({"email": ADMIN, "password": "wrong-password"}).to_string(),
        ))
        .unwrap();
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
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
        "select distinct key from login_failures where key like 'ip:%' order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(keys, ["ip:198.51.100.7", "ip:203.0.113.9"]);
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
    let access = security::admin_token(&router).await;
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
