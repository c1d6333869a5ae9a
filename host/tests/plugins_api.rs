//! The plugin store through the HTTP API against a real PostgreSQL (`DATABASE_URL`; `make test-env`
//! starts one): upload and validation (422), grants and enabling,
//! configuration, invoke, service bindings, delete while in use (409), and the audit rows.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::TestApp;

#[sqlx::test(migrations = "../migrations")]
async fn upload_validation_is_422_with_the_reason(pool: sqlx::PgPool) {
    let api = TestApp::without_docker(pool).await;
    let (s, v) = api
        .send(
            Method::POST,
            "/api/v1/plugins",
            "application/wasm",
            b"not wasm".to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_component")),
        "{v}"
    );
    let (s, v) = api
        .send(
            Method::POST,
            "/api/v1/plugins",
            "application/wasm",
            b"\0asm\x01\0\0\0".to_vec(),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_component")),
        "{v}"
    );
    let (s, v) = api.upload_plugin("future-wit").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unsupported_wit_version")
        ),
        "{v}"
    );
    let (s, v) = api
        .send(
            Method::POST,
            "/api/v1/plugins",
            "text/plain",
            support::plugins::wasm("http-health").to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (_, v) = api.json(Method::GET, "/api/v1/plugins", json!(null)).await;
    assert_eq!(
        v["plugins"],
        json!([]),
        "nothing stored after refused uploads"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn lifecycle_upload_grant_configure_enable_invoke_delete(pool: sqlx::PgPool) {
    let api = TestApp::without_docker(pool).await;
    let (s, v) = api.upload_plugin("hostile").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["id"].as_str(), v["enabled"].as_bool()),
        (Some("hostile"), Some(false))
    );
    assert_eq!(v["missing_grants"], json!(["http"]));
    // Same bytes again: a no-op new "version", 200.
    let (s, _) = api.upload_plugin("hostile").await;
    assert_eq!(s, StatusCode::OK);

    // Enabling without the grant is refused.
    let (s, v) = api
        .json(
            Method::PATCH,
            "/api/v1/plugins/hostile",
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_granted")),
        "{v}"
    );
    // A config outside the schema is refused.
    let (s, v) = api
        .json(
            Method::PATCH,
            "/api/v1/plugins/hostile",
            json!({"config": {"attack": "nuke"}}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_config")),
        "{v}"
    );
    // A grant pattern that does not parse is refused.
    let (s, _) = api
        .json(
            Method::PATCH,
            "/api/v1/plugins/hostile",
            json!({"grants": {"capabilities": ["http"], "http": {"allow": ["ntfy.sh"]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let patch = json!({"grants": {"capabilities": ["http"], "http": {"allow": ["https://ntfy.sh"]}},
                       "config": {"attack": "loop"}, "limits": {"deadline_ms": 100}, "enabled": true});
    let (s, v) = api
        .json(Method::PATCH, "/api/v1/plugins/hostile", patch)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["enabled"].as_bool(), v["missing_grants"].clone()),
        (Some(true), json!([]))
    );

    // Invoke: the infinite loop is stopped at its 100 ms deadline and reported, not a 5xx.
    let event = json!({"kind": "updated", "service": {"name": "x"}, "summary": "x updated"});
    let (s, v) = api
        .json(
            Method::POST,
            "/api/v1/plugins/hostile/invoke",
            json!({"input": event}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["error"]["code"], "deadline", "{v}");
    let (_, v) = api
        .json(
            Method::PATCH,
            "/api/v1/plugins/hostile",
            json!({"config": {"attack": "ok"}}),
        )
        .await;
    assert_eq!(v["config"], json!({"attack": "ok"}));
    let (s, v) = api
        .json(
            Method::POST,
            "/api/v1/plugins/hostile/invoke",
            json!({"input": event}),
        )
        .await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::OK, Value::Null),
        "{v}"
    );
    assert!(v["duration_ms"].as_f64().is_some_and(|d| d > 0.0), "{v}");

    let (s, v) = api
        .json(Method::GET, "/api/v1/plugins/hostile", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["versions"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["inspection"]["wit"], "0.1.0");

    // Used as a global notifier → delete is 409; after unbinding it goes.
    let (s, v) = api
        .json(
            Method::PUT,
            "/api/v1/notifiers",
            json!({"notifiers": ["hostile"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api
        .json(Method::DELETE, "/api/v1/plugins/hostile", json!(null))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("plugin_in_use")),
        "{v}"
    );
    let (s, _) = api
        .json(Method::PUT, "/api/v1/notifiers", json!({"notifiers": []}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .json(Method::DELETE, "/api/v1/plugins/hostile", json!(null))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .json(Method::GET, "/api/v1/plugins/hostile", json!(null))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let actions = api.audit_actions().await;
    for a in [
        "plugin.upload",
        "plugin.update",
        "plugin.invoke",
        "notifiers.update",
        "plugin.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn service_bindings_check_kinds_and_block_deletes(pool: sqlx::PgPool) {
    let api = TestApp::without_docker(pool).await;
    for name in ["semver-strategy", "http-health", "webhook-notify"] {
        let (s, v) = api.upload_plugin(name).await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {v}");
    }
    let def = json!({"name": "plugdemo", "services": {"web": {"image": "127.0.0.1:5000/demo/app:1.0.0"}}});
    let (s, v) = api.json(Method::POST, "/api/v1/services", def).await;
    assert!(s.is_success(), "creating the service: {s} {v}");

    let (s, v) = api
        .json(
            Method::GET,
            "/api/v1/services/plugdemo/plugins",
            json!(null),
        )
        .await;
    assert_eq!(
        (s, v.clone()),
        (
            StatusCode::OK,
            json!({"strategy": null, "health_checks": [], "notifiers": []})
        ),
        "{v}"
    );
    // A notifier as strategy is refused.
    let bad = json!({"strategy": "webhook-notify"});
    let (s, v) = api
        .json(Method::PUT, "/api/v1/services/plugdemo/plugins", bad)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let good = json!({"strategy": "semver-strategy", "health_checks": ["http-health"], "notifiers": ["webhook-notify"]});
    let (s, v) = api
        .json(
            Method::PUT,
            "/api/v1/services/plugdemo/plugins",
            good.clone(),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, good.clone()));
    let (_, v) = api
        .json(
            Method::GET,
            "/api/v1/services/plugdemo/plugins",
            json!(null),
        )
        .await;
    assert_eq!(v, good);
    let (s, v) = api
        .json(Method::DELETE, "/api/v1/plugins/http-health", json!(null))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["details"]["used_by"], json!(["plugdemo"]));
    let (s, _) = api
        .json(Method::GET, "/api/v1/services/nope/plugins", json!(null))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // What the update pipeline gets: only enabled plugins.
    let resolved = sdmd::plugins::store::resolve(&api.state, "plugdemo")
        .await
        .expect("resolve");
    assert!(
        resolved.strategy.is_none()
            && resolved.health_checks.is_empty()
            && resolved.notifiers.is_empty()
    );
    let patch = json!({"grants": {"capabilities": ["http"], "http": {"allow": ["http://127.0.0.1:9"]}},
                       "config": {"url": "http://127.0.0.1:9/"}, "enabled": true});
    let (s, v) = api
        .json(Method::PATCH, "/api/v1/plugins/http-health", patch)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let resolved = sdmd::plugins::store::resolve(&api.state, "plugdemo")
        .await
        .expect("resolve");
    let ids: Vec<&str> = resolved.health_checks.iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["http-health"]);
}
