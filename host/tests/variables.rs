//! SDMD's global variables (issue 13, "Standard variables"), against real PostgreSQL and the
//! real engine: `GET/PUT /api/v1/variables` (secrets sealed and never returned, kept when sent
//! without a value, audited without values), `${NAME}` in definitions reaching containers, the
//! standard defaults, the `x-sdmd.standard_environment` switch, and the effective environment
//! with the source of every value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::MetadataExt;

use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::db::audit_rows;
use support::*;

fn variable<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

fn env_entry<'a>(env: &'a Value, member: &str, name: &str) -> &'a Value {
    let m = env["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == member)
        .unwrap_or_else(|| panic!("no member {member}: {env}"));
    m["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{member} has no {name}: {env}"))
}

async fn put_vars(app: &TestApp, vars: Value) -> (StatusCode, Value) {
    app.json(
        Method::PUT,
        "/api/v1/variables",
        json!({ "variables": vars }),
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn put_and_get_round_trip_with_sealed_secrets_and_audit(pool: sqlx::PgPool) {
    let app = TestApp::without_docker(pool.clone()).await;

    // Nothing stored: the standard defaults.
    let (s, v) = app.get("/api/v1/variables").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for name in ["TZ", "PUID", "PGID", "UMASK"] {
        assert_eq!(variable(&v, name)["source"], "default", "{v}");
    }
    assert_eq!(variable(&v, "UMASK")["value"], "022");

    let (s, v) = put_vars(
        &app,
        json!({"MY_VAR": "plain-value-1", "API_TOKEN": {"value": "tok-secret-9f3", "secret": true}, "UMASK": "002"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v.to_string().contains("tok-secret-9f3"), "{v}");
    let (s, v) = app.get("/api/v1/variables").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v.to_string().contains("tok-secret-9f3"), "{v}");
    assert_eq!(variable(&v, "MY_VAR")["value"], "plain-value-1");
    assert_eq!(variable(&v, "MY_VAR")["source"], "set");
    assert_eq!(variable(&v, "MY_VAR")["secret"], false);
    assert_eq!(variable(&v, "API_TOKEN")["value"], Value::Null);
    assert_eq!(variable(&v, "API_TOKEN")["secret"], true);
    assert_eq!(
        variable(&v, "UMASK")["value"],
        "002",
        "a stored one overrides the default"
    );
    assert_eq!(variable(&v, "UMASK")["source"], "set");
    assert_eq!(variable(&v, "TZ")["source"], "default");

    // At rest: sealed, never in clear.
    let (value, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("select value, sealed from variables where name = 'API_TOKEN'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(value, None);
    let sealed = sealed.expect("sealed");
    assert!(
        !sealed.windows(14).any(|w| w == b"tok-secret-9f3"),
        "stored in clear"
    );

    // A secret sent without a value keeps it; an absent name is removed.
    let (s, v) = put_vars(
        &app,
        json!({"MY_VAR": "plain-value-2", "API_TOKEN": {"secret": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let vars = sdmd::variables::lookup(&app.state).await.unwrap();
    assert_eq!(vars["API_TOKEN"].value, "tok-secret-9f3", "kept");
    assert!(vars["API_TOKEN"].secret);
    assert_eq!(vars["MY_VAR"].value, "plain-value-2");
    assert_eq!(vars["UMASK"].value, "022", "removed: the default again");
    let (_, v) = app.get("/api/v1/variables").await;
    assert_eq!(variable(&v, "UMASK")["source"], "default");

    // The same set again changes nothing and writes no row.
    let (s, _) = put_vars(
        &app,
        json!({"MY_VAR": "plain-value-2", "API_TOKEN": {"secret": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // A secret turned plain; everything else removed.
    let (s, v) = put_vars(&app, json!({"API_TOKEN": "now-plain-7"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(variable(&v, "API_TOKEN")["value"], "now-plain-7");
    assert_eq!(variable(&v, "API_TOKEN")["secret"], false);

    // The audit log: one row per change, names and secrecy, never values.
    let rows: Vec<(Option<String>, Value)> = sqlx::query_as(
        "select target, details from audit_log where action = 'variables.set' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let details: Vec<&Value> = rows.iter().map(|(_, d)| d).collect();
    assert_eq!(rows.len(), 3, "{details:?}");
    assert_eq!(
        *details[0],
        json!({"set": [{"name": "MY_VAR", "secret": false}, {"name": "API_TOKEN", "secret": true}, {"name": "UMASK", "secret": false}], "removed": []})
    );
    assert_eq!(
        *details[1],
        json!({"set": [{"name": "MY_VAR", "secret": false}], "removed": ["UMASK"]})
    );
    assert_eq!(
        *details[2],
        json!({"set": [{"name": "API_TOKEN", "secret": false}], "removed": ["MY_VAR"]})
    );
    let all: Vec<(String,)> = sqlx::query_as("select details::text from audit_log")
        .fetch_all(&pool)
        .await
        .unwrap();
    for (d,) in all {
        for value in [
            "tok-secret-9f3",
            "plain-value-1",
            "plain-value-2",
            "now-plain-7",
        ] {
            assert!(!d.contains(value), "a value in the audit log: {d}");
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_names_values_and_shapes_are_422_and_change_nothing(pool: sqlx::PgPool) {
    let app = TestApp::without_docker(pool.clone()).await;
    let (s, v) = put_vars(&app, json!({"KEEP": "1"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let long = "x".repeat(64 * 1024 + 1);
    for (vars, field) in [
        (json!({"1BAD": "x", "KEEP": "1"}), "variables.1BAD"),
        (json!({"A-B": "x"}), "variables.A-B"),
        (json!({"KEEP": "1", "BIG": long}), "variables.BIG.value"),
        (json!({"NEW": {"secret": true}}), "variables.NEW.value"),
        (json!({"KEEP": {"secret": false}}), "variables.KEEP.value"),
        (
            Value::Object([("N".repeat(129), json!("x"))].into_iter().collect()),
            &format!("variables.{}", "N".repeat(129)),
        ),
    ] {
        let (s, v) = put_vars(&app, vars).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(v["code"], "validation_failed", "{v}");
        assert!(v["message"].is_string(), "{v}");
        let fields: Vec<&str> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec![field], "{v}");
    }
    // Too many variables.
    let many: serde_json::Map<String, Value> =
        (0..257).map(|i| (format!("V{i}"), json!("x"))).collect();
    let (s, v) = put_vars(&app, Value::Object(many)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["details"][0]["field"], "variables", "{v}");
    // Not the documented shape.
    for body in [
        json!({"variables": {"A": 1}}),
        json!({"variables": {"A": {"value": "x", "sealed": true}}}),
        json!({"variables": {}, "extra": true}),
    ] {
        let (s, v) = app
            .json(Method::PUT, "/api/v1/variables", body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["code"], "validation_failed", "{v}");
    }
    // Nothing changed.
    let (_, v) = app.get("/api/v1/variables").await;
    assert_eq!(variable(&v, "KEEP")["value"], "1");
    let set: Vec<&Value> = v["variables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["source"] == "set")
        .collect();
    assert_eq!(set.len(), 1, "{v}");
    assert_eq!(audit_rows(&pool, "variables.set").await.len(), 1);
}

/// SDMD has no roles below administrator (docs/auth.md): every authenticated principal is one.
/// Who is not — no credential, or a Supabase user the admission policy does not name — cannot
/// change (or read) the variables.
#[sqlx::test(migrations = "../migrations")]
async fn only_administrators_put_variables(pool: sqlx::PgPool) {
    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
    let cfg = sdmd::config::AuthConfig {
        mode: sdmd::config::AuthMode::Supabase,
        supabase_url: Some("http://127.0.0.1:9".into()),
        supabase_jwt_secret: Some(SECRET.into()),
        supabase_anon_key: Some("anon".into()),
        supabase_admin_claim: Some("app_metadata.sdmd_admin".into()),
        ..sdmd::config::AuthConfig::default()
    };
    let (_, router) = support::auth::app_with(pool.clone(), sdmd::auth::Auth::new(cfg));
    let now = chrono::Utc::now().timestamp();
    let claims = |admin: bool| {
        json!({"sub": uuid::Uuid::new_v4(), "aud": "authenticated", "role": "authenticated",
               "email": "someone@example.com", "exp": now + 600, "iat": now,
               "session_id": uuid::Uuid::new_v4(), "is_anonymous": false,
               "app_metadata": {"provider": "email", "sdmd_admin": admin}})
    };
    let token = |admin: bool| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(admin),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let body = json!({"variables": {"X": "1"}});
    let outsider = token(false);
    let r = support::http::call(
        &router,
        Method::PUT,
        "/api/v1/variables",
        Some(&outsider),
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["code"], "not_admitted", "{}", r.body);
    let r = support::http::call(
        &router,
        Method::PUT,
        "/api/v1/variables",
        None,
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let stored: i64 = sqlx::query_scalar("select count(*) from variables")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // An administrator may.
    let admin = token(true);
    let r = support::http::call(
        &router,
        Method::PUT,
        "/api/v1/variables",
        Some(&admin),
        &[],
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = audit_rows(&pool, "variables.set").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "someone@example.com", "the actor: {rows:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn definitions_use_variables_and_containers_see_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let (s, v) = put_vars(
        &app,
        json!({"MY_VAR": "from-settings", "API_TOKEN": {"value": "tok-secret-42", "secret": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tz = variable(&v, "TZ")["value"].as_str().unwrap().to_owned();
    assert!(!tz.is_empty());

    let name = unique("vars");
    // A secret outside `environment` is refused (it would be shown and stored in clear).
    let leaky = format!(
        "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    command: [echo, '${{API_TOKEN}}']\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &leaky).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["details"][0]["field"], "services.app.command[1]", "{v}");
    assert!(!v.to_string().contains("tok-secret-42"), "{v}");

    let compose = format!(
        "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    labels: {{sdmd.test: '1'}}\n    env_file: [app.env]\n    environment:\n      ZONE: ${{TZ}}\n      MINE: ${{MY_VAR}}\n      TOKEN: ${{API_TOKEN}}\n      DOT: ${{FROM_DOTENV}}\n      PLAIN: literal\n"
    );
    let (s, v) = app
        .post_multipart(
            "/api/v1/services",
            &[
                ("compose", &compose),
                (".env", "FROM_DOTENV=dot-value\n"),
                ("app.env", "FILED=file-value\n"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let env = &v["definition"]["services"]["app"]["environment"];
    assert_eq!(env["TOKEN"], "********", "{env}");
    assert_eq!(env["MINE"], "from-settings", "{env}");
    assert!(!v.to_string().contains("tok-secret-42"), "{v}");

    let (s, yaml) = app
        .get(&format!("/api/v1/services/{name}/compose?resolved=true"))
        .await;
    assert_eq!(s, StatusCode::OK, "{yaml}");
    let yaml = yaml.as_str().unwrap();
    assert!(yaml.contains("from-settings"), "{yaml}");
    assert!(yaml.contains(&tz), "{yaml}");
    assert!(!yaml.contains("tok-secret-42"), "{yaml}");

    // The effective environment, with sources.
    let (s, e) = app
        .get(&format!("/api/v1/services/{name}/environment"))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert!(!e.to_string().contains("tok-secret-42"), "{e}");
    assert!(!e.to_string().contains("dot-value"), "sealed .env: {e}");
    let zone = env_entry(&e, "app", "ZONE");
    assert_eq!(
        (
            zone["value"].as_str(),
            zone["source"].as_str(),
            zone["variable"].as_str(),
            zone["origin"].as_str()
        ),
        (
            Some(tz.as_str()),
            Some("global"),
            Some("TZ"),
            Some("default")
        ),
        "{e}"
    );
    let mine = env_entry(&e, "app", "MINE");
    assert_eq!(
        (mine["source"].as_str(), mine["origin"].as_str()),
        (Some("global"), Some("set")),
        "{e}"
    );
    let token = env_entry(&e, "app", "TOKEN");
    assert_eq!(
        (
            token["value"].as_str(),
            token["source"].as_str(),
            token["masked"].as_bool()
        ),
        (Some("********"), Some("global"), Some(true)),
        "{e}"
    );
    let dot = env_entry(&e, "app", "DOT");
    assert_eq!(
        (
            dot["value"].as_str(),
            dot["source"].as_str(),
            dot["variable"].as_str()
        ),
        (Some("********"), Some("dotenv"), Some("FROM_DOTENV")),
        "{e}"
    );
    let filed = env_entry(&e, "app", "FILED");
    assert_eq!(
        (
            filed["source"].as_str(),
            filed["file"].as_str(),
            filed["masked"].as_bool()
        ),
        (Some("env_file"), Some("app.env"), Some(true)),
        "{e}"
    );
    let plain = env_entry(&e, "app", "PLAIN");
    assert_eq!(
        (
            plain["value"].as_str(),
            plain["source"].as_str(),
            plain["masked"].as_bool()
        ),
        (Some("literal"), Some("member"), Some(false)),
        "{e}"
    );

    // Deploy: the container sees the real values.
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let env = env_of(&format!("{name}-app"));
    for want in [
        format!("ZONE={tz}"),
        "MINE=from-settings".to_owned(),
        "TOKEN=tok-secret-42".to_owned(),
        "DOT=dot-value".to_owned(),
        "FILED=file-value".to_owned(),
        "PLAIN=literal".to_owned(),
    ] {
        assert!(env.contains(&want), "{want} not in {env:?}");
    }

    // A changed variable reaches the next deploy (interpolation happens on every deploy).
    let (s, v) = put_vars(
        &app,
        json!({"MY_VAR": "changed", "API_TOKEN": {"secret": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let env = env_of(&format!("{name}-app"));
    assert!(env.contains(&"MINE=changed".to_owned()), "{env:?}");
    assert!(env.contains(&"TOKEN=tok-secret-42".to_owned()), "{env:?}");
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_standard_environment_fills_what_members_do_not_set(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    // PUID/PGID default to the owner of the data root (the stacks directory).
    let root = app.state.stacks_dir.as_ref().clone();
    let before = std::fs::metadata(&root).unwrap();
    std::os::unix::fs::chown(&root, Some(1234), Some(2345)).unwrap();
    let (_, v) = app.get("/api/v1/variables").await;
    assert_eq!(variable(&v, "PUID")["value"], "1234", "{v}");
    assert_eq!(variable(&v, "PGID")["value"], "2345", "{v}");
    let tz = variable(&v, "TZ")["value"].as_str().unwrap().to_owned();
    let (s, v) = put_vars(&app, json!({"UMASK": "002"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let name = unique("stdenv");
    let compose = format!(
        "name: {name}\nx-sdmd:\n  standard_environment: true\nservices:\n  plain:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    labels: {{sdmd.test: '1'}}\n  zoned:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    labels: {{sdmd.test: '1'}}\n    environment: [TZ=Pacific/Auckland]\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &compose).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let plain = env_of(&format!("{name}-plain"));
    for want in [
        format!("TZ={tz}"),
        "PUID=1234".to_owned(),
        "PGID=2345".to_owned(),
        "UMASK=002".to_owned(),
    ] {
        assert!(plain.contains(&want), "{want} not in {plain:?}");
    }
    let zoned = env_of(&format!("{name}-zoned"));
    assert!(
        zoned.contains(&"TZ=Pacific/Auckland".to_owned()),
        "{zoned:?}"
    );
    assert_eq!(
        zoned.iter().filter(|e| e.starts_with("TZ=")).count(),
        1,
        "{zoned:?}"
    );
    assert!(zoned.contains(&"PUID=1234".to_owned()), "{zoned:?}");

    let (s, e) = app
        .get(&format!("/api/v1/services/{name}/environment"))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let umask = env_entry(&e, "plain", "UMASK");
    assert_eq!(
        (
            umask["value"].as_str(),
            umask["source"].as_str(),
            umask["origin"].as_str()
        ),
        (Some("002"), Some("standard"), Some("set")),
        "{e}"
    );
    let puid = env_entry(&e, "plain", "PUID");
    assert_eq!(
        (puid["source"].as_str(), puid["origin"].as_str()),
        (Some("standard"), Some("default")),
        "{e}"
    );
    let ztz = env_entry(&e, "zoned", "TZ");
    assert_eq!(
        (ztz["value"].as_str(), ztz["source"].as_str()),
        (Some("Pacific/Auckland"), Some("member")),
        "{e}"
    );

    // Switched off by a new revision: a redeploy no longer injects.
    let off = compose.replace("standard_environment: true", "standard_environment: false");
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &off)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let plain = env_of(&format!("{name}-plain"));
    assert!(
        !plain
            .iter()
            .any(|e| e.starts_with("PUID=") || e.starts_with("UMASK=")),
        "{plain:?}"
    );
    app.cleanup(&name).await;
    std::os::unix::fs::chown(&root, Some(before.uid()), Some(before.gid())).unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn x_sdmd_is_checked_and_other_extensions_are_free(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("xsdmd");
    for (x, field) in [
        ("{standard_env: true}", "x-sdmd.standard_env"),
        (
            "{standard_environment: 'yes'}",
            "x-sdmd.standard_environment",
        ),
        ("[standard_environment]", "x-sdmd"),
    ] {
        let doc =
            format!("name: {name}\nx-sdmd: {x}\nservices:\n  app:\n    image: local/busybox:1\n");
        let (s, v) = app.post_yaml("/api/v1/services", &doc).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{x}: {v}");
        assert_eq!(v["code"], "validation_failed", "{v}");
        assert_eq!(v["details"][0]["field"], field, "{v}");
        let (s, _) = app.get(&format!("/api/v1/services/{name}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored");
    }
    let doc = format!(
        "name: {name}\nx-sdmd: {{standard_environment: true}}\nx-anything: {{free: [1, 2]}}\nservices:\n  app:\n    image: local/busybox:1\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &doc).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["definition"]["x-sdmd"],
        json!({"standard_environment": true}),
        "{v}"
    );
    app.cleanup(&name).await;
}
