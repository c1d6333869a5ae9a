//! The one gate: every route of the OpenAPI document (except the public ones) answers 401 for
//! every kind of bad credential, and accepts a valid user token and a valid API token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sdmd::db::audit::AuditContext;
use serde_json::{Value, json};
use sqlx::PgPool;

use support::auth::{ADMIN, PASSWORD, admin_token, app, sign_in};
use support::http::{call, status_only};

/// Routes anyone may call (DESIGN §4).
const PUBLIC: &[&str] = &[
    "/healthz",
    "/auth/v1/token",
    "/auth/v1/.well-known/jwks.json",
    "/config.json",
    // First run only: creating the first administrator needs the setup code, not a token
    // (host/tests/auth_setup.rs); refused once a user exists.
    "/api/v1/setup",
];

/// Every (method, concrete path) of the document plus the document itself.
fn protected_routes() -> Vec<(Method, String)> {
    let (_, _, doc) = sdmd::api::routes();
    let doc = serde_json::to_value(&doc).unwrap();
    let mut out = vec![(Method::GET, "/api/v1/openapi.json".to_owned())];
    for (path, item) in doc["paths"].as_object().unwrap() {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        let concrete = path
            .replace("{id}", "00000000-0000-0000-0000-000000000000")
            .replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            out.push((m, concrete.clone()));
        }
    }
    assert!(
        out.len() >= 20,
        "the OpenAPI document lists too few routes: {out:?}"
    );
    out
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn claims(sub: &str, session: &str, exp: i64) -> Value {
    json!({"iss": "sdmd", "sub": sub, "aud": "authenticated", "role": "authenticated", "exp": exp, "iat": Utc::now().timestamp(),
           "email": ADMIN, "session_id": session, "aal": "aal1", "is_anonymous": false})
}

#[sqlx::test(migrations = "../migrations")]
async fn every_protected_route_refuses_bad_credentials(pool: PgPool) {
    let (state, router) = app(pool.clone()).await;
    let good = sign_in(&router, ADMIN, PASSWORD).await.body;
    let access = good["access_token"].as_str().unwrap().to_owned();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    let payload: Value = {
        let part = access.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let sub = payload["sub"].as_str().unwrap().to_owned();
    let session = payload["session_id"].as_str().unwrap().to_owned();
    let keys = state.auth.signing_key(&pool).await.unwrap();
    let mut es = Header::new(Algorithm::ES256);
    es.kid = header.kid.clone();

    // Expired, signed with the real key.
    let expired = jsonwebtoken::encode(
        &es,
        &claims(&sub, &session, Utc::now().timestamp() - 3600),
        &keys.encoding,
    )
    .unwrap();
    // Right kid, wrong key.
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let other_key = EncodingKey::from_ec_pem(other.serialize_pem().as_bytes()).unwrap();
    let wrong_sig = jsonwebtoken::encode(
        &es,
        &claims(&sub, &session, Utc::now().timestamp() + 3600),
        &other_key,
    )
    .unwrap();
    // alg none, no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": header.kid})),
        b64(&claims(&sub, &session, Utc::now().timestamp() + 3600))
    );
    // Algorithm confusion: HS256 keyed with the public key (as PEM and as the JWKS text).
    let stored: (String,) = sqlx::query_as("select private_pem from signing_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    let public_pem = rcgen::KeyPair::from_pem(&stored.0)
        .unwrap()
        .public_key_pem();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = header.kid.clone();
    let good_claims = claims(&sub, &session, Utc::now().timestamp() + 3600);
    let confused_pem = jsonwebtoken::encode(
        &hs,
        &good_claims,
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    // The key as the JWKS endpoint serves it (the API's shape of it).
    let jwks_text =
        serde_json::to_string(&sdmd::api::types::auth::PublicJwk::from(&keys.jwk)).unwrap();
    let confused_jwk = jsonwebtoken::encode(
        &hs,
        &good_claims,
        &EncodingKey::from_secret(jwks_text.as_bytes()),
    )
    .unwrap();
    // The anon key shape: role anon, no sub, no session — even signed with the real key.
    let anon = jsonwebtoken::encode(
        &es,
        &json!({"role": "anon", "aud": "authenticated", "iss": "sdmd", "exp": Utc::now().timestamp() + 3600}),
        &keys.encoding,
    )
    .unwrap();
    // Valid signature, wrong issuer; and one that is not valid yet.
    let mut other_iss = claims(&sub, &session, Utc::now().timestamp() + 3600);
    other_iss["iss"] = json!("https://evil.example/auth/v1");
    let other_iss = jsonwebtoken::encode(&es, &other_iss, &keys.encoding).unwrap();
    let mut future = claims(&sub, &session, Utc::now().timestamp() + 7200);
    future["iss"] = json!("sdmd");
    future["nbf"] = json!(Utc::now().timestamp() + 3600);
    let future = jsonwebtoken::encode(&es, &future, &keys.encoding).unwrap();
    // A token of a session that was signed out.
    let revoked = sign_in(&router, ADMIN, PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = call(
        &router,
        Method::POST,
        "/auth/v1/logout?scope=local",
        Some(&revoked),
        &[],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
    // A revoked API token.
    let api = sdmd::auth::tokens::create(&pool, &AuditContext::system(), "gone", None)
        .await
        .unwrap();
    sdmd::auth::tokens::revoke(&pool, &AuditContext::system(), api.token.id)
        .await
        .unwrap();

    // Control: the crafted claims, validly signed and current, are accepted — each bad token
    // below differs from this one only by its defect.
    let control = jsonwebtoken::encode(&es, &good_claims, &keys.encoding).unwrap();
    let r = call(
        &router,
        Method::GET,
        "/api/v1/tokens",
        Some(&control),
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "control token refused: {}",
        r.body
    );

    let bad: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("expired", Some(expired)),
        ("wrong signature", Some(wrong_sig)),
        ("alg none", Some(none)),
        ("HS256 keyed with the public key PEM", Some(confused_pem)),
        ("HS256 keyed with the JWK", Some(confused_jwk)),
        ("anon key without sub", Some(anon)),
        ("another issuer", Some(other_iss)),
        ("not valid yet", Some(future)),
        ("revoked session", Some(revoked)),
        ("revoked API token", Some(api.secret)),
        (
            "unknown API token",
            Some("sdmd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        ),
    ];
    let routes = protected_routes();
    for (what, token) in &bad {
        for (method, path) in &routes {
            let r = call(&router, method.clone(), path, token.as_deref(), &[], None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{what}: {method} {path} answered {} {}",
                r.status,
                r.body
            );
            assert_eq!(
                r.body["code"], "unauthorized",
                "{what}: {method} {path}: {}",
                r.body
            );
        }
    }

    // The same routes let a valid user token and a valid API token through the gate.
    // Sign-out goes last: it ends the session of the user token.
    let api = sdmd::auth::tokens::create(&pool, &AuditContext::system(), "ci", None)
        .await
        .unwrap();
    let mut routes = routes;
    routes.sort_by_key(|(_, p)| p == "/auth/v1/logout");
    for token in [api.secret.as_str(), access.as_str()] {
        for (method, path) in &routes {
            let status = status_only(&router, method.clone(), path, Some(token)).await;
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} refused a valid token"
            );
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn public_routes_need_no_token(pool: PgPool) {
    let (_, router) = app(pool).await;
    for path in [
        "/healthz",
        "/auth/v1/.well-known/jwks.json",
        "/config.json",
        "/api/docs",
        "/api/v1/setup",
    ] {
        let r = call(&router, Method::GET, path, None, &[], None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let cfg = call(&router, Method::GET, "/config.json", None, &[], None)
        .await
        .body;
    assert_eq!(cfg["auth_mode"], "builtin");
    assert!(cfg["anon_key"].as_str().is_some_and(|k| !k.is_empty()));
}

/// `/healthz` tells anyone only `status`; the reasons (Docker/database errors), the version and
/// the TLS fingerprint need a valid credential (issue 11, item 8).
#[sqlx::test(migrations = "../migrations")]
async fn healthz_details_need_a_token(pool: PgPool) {
    // Docker is never contacted here, so its component carries an error text.
    let (_, router) = app(pool).await;
    let access = admin_token(&router).await;
    for bearer in [None, Some("not-a-token"), Some("sdmd_forged")] {
        let r = call(&router, Method::GET, "/healthz", bearer, &[], None).await;
        assert_eq!(r.status, StatusCode::OK, "{bearer:?}: {}", r.body);
        let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["status"], "{bearer:?}: {}", r.body);
        assert_eq!(r.body["status"], "degraded", "{}", r.body);
    }
    let r = call(&router, Method::GET, "/healthz", Some(&access), &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "degraded", "{}", r.body);
    assert_eq!(r.body["docker"]["ok"], false, "{}", r.body);
    assert!(r.body["docker"]["error"].is_string(), "{}", r.body);
    assert_eq!(r.body["database"]["ok"], true, "{}", r.body);
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"), "{}", r.body);
    // The document describes both shapes: only `status` is required.
    let (_, _, doc) = sdmd::api::routes();
    let doc = serde_json::to_value(&doc).unwrap();
    let schema = &doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
    let health = &doc["components"]["schemas"][name];
    assert_eq!(health["required"], json!(["status"]), "{health}");
}
