//! Supabase mode: HS256 tokens with the project's secret and ES256 tokens from a JWKS this test
//! serves itself; algorithms pinned by configuration; project keys (anon/service_role) refused;
//! anonymous users refused; valid users admitted only by the admission policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sdmd::auth::Auth;
use sdmd::config::{AuthConfig, AuthMode};
use serde_json::{Value, json};
use sqlx::PgPool;

use support::auth::{app_with, sign_in};
use support::db::audit_rows;
use support::http::call;

const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

struct Key {
    kid: String,
    pair: rcgen::KeyPair,
}

impl Key {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        }
    }
    fn jwk(&self) -> Value {
        let raw = self.pair.public_key_raw();
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        json!({"kty": "EC", "crv": "P-256", "x": b.encode(&raw[1..33]), "y": b.encode(&raw[33..65]),
               "kid": self.kid, "alg": "ES256", "use": "sig"})
    }
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &h,
            claims,
            &EncodingKey::from_ec_pem(self.pair.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

/// A JWKS endpoint whose key list the test can change, counting fetches.
async fn serve_jwks(keys: Arc<Mutex<Vec<Value>>>, fetches: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/auth/v1/.well-known/jwks.json",
        axum::routing::get(move || {
            let (keys, fetches) = (keys.clone(), fetches.clone());
            async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"keys": keys.lock().unwrap().clone()}))
            }
        }),
    );
    format!("http://{}", support::net::serve(app).await)
}

/// An administrator's claims under [`config`]'s policy (`app_metadata.sdmd_admin: true`).
fn user_claims(email: &str) -> Value {
    let mut c = plain_claims(email);
    c["app_metadata"] = json!({"provider": "email", "providers": ["email"], "sdmd_admin": true});
    c
}

/// A valid Supabase user with no admission claim.
fn plain_claims(email: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({"sub": uuid::Uuid::new_v4(), "aud": "authenticated", "role": "authenticated", "email": email,
           "exp": now + 600, "iat": now, "iss": "http://supabase.test/auth/v1", "session_id": uuid::Uuid::new_v4(),
           "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}, "is_anonymous": false})
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn config(url: &str) -> AuthConfig {
    AuthConfig {
        mode: AuthMode::Supabase,
        supabase_url: Some(url.into()),
        supabase_jwt_secret: Some(SECRET.into()),
        supabase_anon_key: Some("anon-key-for-the-dashboard".into()),
        jwks_min_refetch_secs: 1,
        supabase_admin_claim: Some("app_metadata.sdmd_admin".into()),
        ..AuthConfig::default()
    }
}

async fn status(router: &axum::Router, token: &str) -> StatusCode {
    call(
        router,
        Method::GET,
        "/api/v1/tokens",
        Some(token),
        &[],
        None,
    )
    .await
    .status
}

#[sqlx::test(migrations = "../migrations")]
async fn verifies_hs256_and_jwks_tokens(pool: PgPool) {
    let a = Key::new("key-a");
    let b = Key::new("key-b");
    let keys = Arc::new(Mutex::new(vec![a.jwk()]));
    let fetches = Arc::new(AtomicUsize::new(0));
    let url = serve_jwks(keys.clone(), fetches.clone()).await;
    let (_, router) = app_with(pool.clone(), Auth::new(config(&url)));

    // HS256 with the raw secret bytes; the audit log names the user by email.
    let hs = hs256(&user_claims("alice@example.com"), SECRET);
    let created = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&hs),
        &[],
        Some(json!({"name": "from-supabase"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        audit_rows(&pool, "token.create").await[0].0,
        "alice@example.com"
    );

    // Project keys and malformed user tokens are not users.
    let now = Utc::now().timestamp();
    let refused = [
        (
            "anon key",
            hs256(
                &json!({"role": "anon", "iss": "supabase", "exp": now + 600}),
                SECRET,
            ),
        ),
        (
            "anon key with aud",
            hs256(
                &json!({"role": "anon", "aud": "authenticated", "exp": now + 600}),
                SECRET,
            ),
        ),
        (
            "service_role key",
            hs256(&json!({"role": "service_role", "exp": now + 600}), SECRET),
        ),
        ("service_role with a sub", {
            let mut c = user_claims("x@example.com");
            c["role"] = json!("service_role");
            hs256(&c, SECRET)
        }),
        ("wrong audience", {
            let mut c = user_claims("x@example.com");
            c["aud"] = json!("somebody-else");
            hs256(&c, SECRET)
        }),
        ("expired", {
            let mut c = user_claims("x@example.com");
            c["exp"] = json!(now - 3600);
            hs256(&c, SECRET)
        }),
        (
            "wrong secret",
            hs256(
                &user_claims("x@example.com"),
                "another-secret-another-secret-another-secret",
            ),
        ),
        ("unknown kid", b.sign(&user_claims("x@example.com"))),
    ];
    for (what, token) in &refused {
        assert_eq!(
            status(&router, token).await,
            StatusCode::UNAUTHORIZED,
            "{what} accepted"
        );
    }

    // ES256 from the JWKS.
    assert_eq!(
        status(&router, &a.sign(&user_claims("bob@example.com"))).await,
        StatusCode::OK
    );
    let after_first = fetches.load(Ordering::SeqCst);
    assert!(after_first >= 1);
    // A flood of unknown kids within the refetch interval costs at most one more fetch.
    for _ in 0..20 {
        assert_eq!(
            status(&router, &b.sign(&user_claims("x@example.com"))).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(
        fetches.load(Ordering::SeqCst) <= after_first + 1,
        "JWKS fetched {} times",
        fetches.load(Ordering::SeqCst)
    );
    // Key rotation: once published, the new kid is picked up by a refetch.
    keys.lock().unwrap().push(b.jwk());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        status(&router, &b.sign(&user_claims("carol@example.com"))).await,
        StatusCode::OK
    );
    // Known kids are served from the cache.
    let before = fetches.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(
            status(&router, &a.sign(&user_claims("bob@example.com"))).await,
            StatusCode::OK
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), before);

    // The dashboard learns where to sign in; the built-in routes are off.
    let cfg = call(&router, Method::GET, "/config.json", None, &[], None)
        .await
        .body;
    assert_eq!(
        cfg,
        json!({"auth_mode": "supabase", "supabase_url": url, "anon_key": "anon-key-for-the-dashboard"})
    );
    let login = sign_in(&router, "alice@example.com", "whatever").await;
    assert_eq!(login.status, StatusCode::NOT_FOUND);
    assert_eq!(login.body["code"], "builtin_auth_disabled");
}

#[sqlx::test(migrations = "../migrations")]
async fn algorithms_and_issuer_are_pinned_by_configuration(pool: PgPool) {
    let a = Key::new("key-a");
    let url = serve_jwks(
        Arc::new(Mutex::new(vec![a.jwk()])),
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    // Only ES256 allowed: a correctly signed HS256 token is refused.
    let es_only = AuthConfig {
        jwt_algorithms: Some("ES256".into()),
        ..config(&url)
    };
    let (_, router) = app_with(pool.clone(), Auth::new(es_only));
    assert_eq!(
        status(&router, &hs256(&user_claims("a@example.com"), SECRET)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&router, &a.sign(&user_claims("a@example.com"))).await,
        StatusCode::OK
    );

    // HS256 only: an ES256 token from the JWKS is refused, and so is an HS256 token keyed with
    // the public JWK (algorithm confusion).
    let hs_only = AuthConfig {
        jwt_algorithms: Some("HS256".into()),
        ..config(&url)
    };
    let (_, router) = app_with(pool.clone(), Auth::new(hs_only));
    assert_eq!(
        status(&router, &a.sign(&user_claims("a@example.com"))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            &router,
            &hs256(&user_claims("a@example.com"), &a.jwk().to_string())
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&router, &hs256(&user_claims("a@example.com"), SECRET)).await,
        StatusCode::OK
    );

    // `iss` is checked only when configured, and then strictly.
    let with_iss = AuthConfig {
        supabase_jwt_issuer: Some("http://supabase.test/auth/v1".into()),
        ..config(&url)
    };
    let (_, router) = app_with(pool, Auth::new(with_iss));
    assert_eq!(
        status(&router, &hs256(&user_claims("a@example.com"), SECRET)).await,
        StatusCode::OK
    );
    let mut other = user_claims("a@example.com");
    other["iss"] = json!("http://evil.test/auth/v1");
    assert_eq!(
        status(&router, &hs256(&other, SECRET)).await,
        StatusCode::UNAUTHORIZED
    );
}

/// A throwaway RSA key (test fixture only) and its modulus, base64url.
const RSA_PEM: &str = include_str!("fixtures/rsa-test-key.pem");
const RSA_N: &str = include_str!("fixtures/rsa-test-key.n.txt");

#[sqlx::test(migrations = "../migrations")]
async fn verifies_rs256_tokens_from_the_jwks(pool: PgPool) {
    let jwk = json!({"kty": "RSA", "n": RSA_N.trim(), "e": "AQAB", "kid": "rsa-1", "alg": "RS256", "use": "sig"});
    let url = serve_jwks(
        Arc::new(Mutex::new(vec![jwk])),
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let cfg = AuthConfig {
        supabase_jwt_secret: None,
        ..config(&url)
    };
    let (_, router) = app_with(pool, Auth::new(cfg));
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rsa-1".into());
    let token = jsonwebtoken::encode(&h, &user_claims("rsa@example.com"), &key).unwrap();
    assert_eq!(status(&router, &token).await, StatusCode::OK);
    // The same key id with another algorithm than the key declares is refused.
    let mut h = Header::new(Algorithm::RS384);
    h.kid = Some("rsa-1".into());
    let token = jsonwebtoken::encode(&h, &user_claims("rsa@example.com"), &key).unwrap();
    assert_eq!(status(&router, &token).await, StatusCode::UNAUTHORIZED);
    // Without a secret configured, HS256 is not accepted at all.
    assert_eq!(
        status(&router, &hs256(&user_claims("a@example.com"), SECRET)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn supabase_users_create_tokens_and_tokens_do_not(pool: PgPool) {
    let url = serve_jwks(
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let (_, router) = app_with(pool, Auth::new(config(&url)));
    // A Supabase user token without `session_id` is still a user session.
    let mut claims = user_claims("bob@example.com");
    claims.as_object_mut().unwrap().remove("session_id");
    let user = hs256(&claims, SECRET);
    let created = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&user),
        &[],
        Some(json!({"name": "bob-ci"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap();
    let minted = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(secret),
        &[],
        Some(json!({"name": "bob-ci-2"})),
    )
    .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.body);
    assert_eq!(minted.body["code"], "user_session_required");
}

#[sqlx::test(migrations = "../migrations")]
async fn anonymous_users_are_refused_and_others_need_the_policy(pool: PgPool) {
    let url = serve_jwks(
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let listed = uuid::Uuid::new_v4();
    let cfg = AuthConfig {
        supabase_admins: Some(format!("Owner@Example.com, {listed}")),
        supabase_admin_claim: Some("app_metadata.role=sdmd_admin".into()),
        ..config(&url)
    };
    assert!(cfg.validate().is_ok());
    let (_, router) = app_with(pool.clone(), Auth::new(cfg));

    // Anonymous sign-ins: 401 always, even with every admission rule matching.
    let mut anon = plain_claims("owner@example.com");
    anon["sub"] = json!(listed);
    anon["is_anonymous"] = json!(true);
    anon["app_metadata"] = json!({"provider": "anonymous", "role": "sdmd_admin"});
    let r = call(
        &router,
        Method::GET,
        "/api/v1/tokens",
        Some(&hs256(&anon, SECRET)),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.body["code"], "unauthorized");

    // A valid user the policy does not name: 403 not_admitted, on every protected route.
    let outsider = hs256(&plain_claims("mallory@example.com"), SECRET);
    for (method, uri) in [
        (Method::GET, "/api/v1/tokens"),
        (Method::GET, "/api/v1/services"),
        (Method::GET, "/api/v1/audit"),
    ] {
        let r = call(&router, method, uri, Some(&outsider), &[], None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.body);
        assert_eq!(r.body["code"], "not_admitted", "{uri}");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("SDMD_SUPABASE_ADMINS")
        );
    }
    let r = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&outsider),
        &[],
        Some(json!({"name": "mallory"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Claims the user can edit themselves admit nobody.
    let mut self_made = plain_claims("mallory@example.com");
    self_made["user_metadata"] = json!({"role": "sdmd_admin", "sdmd_admin": true});
    self_made["app_metadata"]["sdmd_admin"] = json!("true");
    assert_eq!(
        status(&router, &hs256(&self_made, SECRET)).await,
        StatusCode::FORBIDDEN
    );

    // Admitted by email (case-insensitive), by user id, by the claim.
    let by_email = hs256(&plain_claims("owner@EXAMPLE.com"), SECRET);
    assert_eq!(status(&router, &by_email).await, StatusCode::OK);
    let mut by_id = plain_claims("someone-else@example.com");
    by_id["sub"] = json!(listed);
    assert_eq!(
        status(&router, &hs256(&by_id, SECRET)).await,
        StatusCode::OK
    );
    let mut by_claim = plain_claims("ops@example.com");
    by_claim["app_metadata"]["role"] = json!("sdmd_admin");
    let by_claim = hs256(&by_claim, SECRET);
    let created = call(
        &router,
        Method::POST,
        "/api/v1/tokens",
        Some(&by_claim),
        &[],
        Some(json!({"name": "ops-ci"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        audit_rows(&pool, "token.create").await[0].0,
        "ops@example.com"
    );
    // API tokens are not Supabase users: the policy does not apply to them.
    let secret = created.body["secret"].as_str().unwrap();
    assert_eq!(status(&router, secret).await, StatusCode::OK);
}

#[test]
fn supabase_mode_without_a_policy_refuses_to_start() {
    let cfg = AuthConfig {
        supabase_admin_claim: None,
        supabase_admins: None,
        ..config("https://sb.example")
    };
    let err = cfg.clone().normalized().validate().unwrap_err();
    assert!(
        err.contains("SDMD_SUPABASE_ADMINS") && err.contains("SDMD_SUPABASE_ADMIN_CLAIM"),
        "{err}"
    );
    // Empty values from an env file are no policy either.
    let empty = AuthConfig {
        supabase_admins: Some(" ".into()),
        supabase_admin_claim: Some(String::new()),
        ..cfg
    };
    assert!(empty.normalized().validate().is_err());
}

/// `sdmd serve` itself refuses to start in supabase mode without a policy, saying what to set.
#[test]
fn serve_refuses_supabase_mode_without_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::process::sdmd()
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SDMD_AUTH_MODE", "supabase")
        .env("SUPABASE_JWT_SECRET", SECRET)
        .env("SDMD_DATA_DIR", dir.path())
        .env("SDMD_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SDMD_SUPABASE_ADMINS") && stderr.contains("SDMD_SUPABASE_ADMIN_CLAIM"),
        "{stderr}"
    );
}
