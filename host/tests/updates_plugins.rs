//! The update pipeline with real plugins: the webhook notifier (built from `plugins/`) delivers
//! `updated` and `rolled_back` events to a receiver on 127.0.0.1 that the admin granted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

/// A webhook receiver on 127.0.0.1 that keeps every JSON body it gets.
async fn receiver() -> (u16, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let got = got.clone();
            move |axum::Json(v): axum::Json<Value>| {
                let got = got.clone();
                async move {
                    got.lock().unwrap().push(v);
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    (support::net::serve(app).await.port(), got)
}

/// Uploads the webhook notifier, grants exactly the receiver's address, configures and enables it.
async fn install_webhook(app: &TestApp, port: u16) {
    upload(app, "webhook-notify").await;
    let (s, v) = app.json(
            Method::PATCH,
            "/api/v1/plugins/webhook-notify",
            json!({
                "grants": {"capabilities": ["http"], "http": {"allow": [format!("http://127.0.0.1:{port}")]}},
                "config": {"url": format!("http://127.0.0.1:{port}/hook"), "format": "json"},
                "enabled": true
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Updates `name`, checks the run's `result`, and waits for the receiver to get an event of `kind`.
async fn update_and_hear(
    app: &TestApp,
    got: &Mutex<Vec<Value>>,
    name: &str,
    result: &str,
    kind: &str,
) -> Value {
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
        .await;
    assert_eq!(v["result"], result, "{v}");
    eventually(Duration::from_secs(10), kind, || async {
        got.lock()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .cloned()
    })
    .await
}

#[test]
fn notifier_plugin_reports_updates_and_rollbacks() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let (port, got) = receiver().await;

        install_webhook(&app, port).await;

        let name = unique("notify");
        let image = format!("{REGISTRY}/sdmdtest/{name}/app:latest");
        build_http_image(&image, "v1", "");
        let yaml = format!("name: {name}\nservices:\n  web:\n    image: {image}\n    init: true\n");
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        let (s, v) = app
            .json(
                Method::PUT,
                &format!("/api/v1/services/{name}/plugins"),
                json!({"strategy": null, "health_checks": [], "notifiers": ["webhook-notify"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;

        // v2: updated, and the receiver hears about it.
        build_http_image(&image, "v2", "");
        app.forget_registry_answer(&image).await;
        let first = update_and_hear(&app, &got, &name, "updated", "updated").await;
        assert_eq!(first["service"], name.as_str(), "{first}");

        // v3 exits at once: rolled back, and the receiver hears that too, with the reason.
        build_image(
            &image,
            "FROM local/busybox:1\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"exit 3\"]\n",
        );
        app.forget_registry_answer(&image).await;
        let rolled = update_and_hear(&app, &got, &name, "rolled_back", "rolled-back").await;
        assert_eq!(rolled["service"], name.as_str(), "{rolled}");
        assert_eq!(
            got.lock().unwrap().len(),
            2,
            "exactly one event per outcome: {:?}",
            got.lock().unwrap()
        );
        app.cleanup(&name).await;
    });
}

#[test]
fn notifier_cooldown_and_batching() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let (port, got) = receiver().await;
        install_webhook(&app, port).await;
        let (s, v) = app
            .json(
                Method::PUT,
                "/api/v1/notifiers",
                json!({"notifiers": ["webhook-notify"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // Bad options: 422, nothing stored.
        for bad in [
            json!({"batch_seconds": 3601}),
            json!({"cooldown_seconds": -1}),
            json!({"every": 3}),
        ] {
            let (s, v) = app
                .json(
                    Method::PATCH,
                    "/api/v1/plugins/webhook-notify",
                    json!({ "delivery": bad }),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        }
        let v = app.ok(Method::GET, "/api/v1/plugins/webhook-notify").await;
        assert_eq!(
            v["delivery"],
            json!({"cooldown_seconds": 0, "batch_seconds": 0})
        );

        // Three services on an image the registry has and the host does not: every check finds
        // an update.
        let tag = unique("nb");
        let image = format!("{REGISTRY}/sdmdtest/{tag}/app:latest");
        build_http_image(&image, "v1", "");
        docker(&["rmi", &image]);
        let names: Vec<String> = (0..3).map(|i| format!("{tag}-s{i}")).collect();
        for name in &names {
            let yaml = format!("name: {name}\nservices:\n  web:\n    image: {image}\n");
            assert_eq!(
                app.post_yaml("/api/v1/services", &yaml).await.0,
                StatusCode::CREATED
            );
        }
        let check = |name: String| {
            let app = &app;
            async move {
                let v = app
                    .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
                    .await;
                assert_eq!(v["update_available"], true, "{v}");
            }
        };
        let events = || got.lock().unwrap().clone();

        // Cooldown: the second check of the same pending update is not announced again; another
        // service is.
        let (s, v) = app
            .json(
                Method::PATCH,
                "/api/v1/plugins/webhook-notify",
                json!({"delivery": {"cooldown_seconds": 3600}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["delivery"]["cooldown_seconds"], 3600);
        check(names[0].clone()).await;
        eventually(Duration::from_secs(10), "the first event", || async {
            (events().len() == 1).then_some(())
        })
        .await;
        check(names[0].clone()).await;
        check(names[1].clone()).await;
        eventually(
            Duration::from_secs(10),
            "the other service's event",
            || async { (events().len() == 2).then_some(()) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got_now = events();
        assert_eq!(got_now.len(), 2, "{got_now:?}");
        assert_eq!(got_now[0]["service"], names[0].as_str());
        assert_eq!(got_now[1]["service"], names[1].as_str());
        let (_, metrics) = app.get("/metrics").await;
        assert!(
            metrics
                .as_str()
                .unwrap()
                .contains("sdmd_notifications_total{result=\"suppressed\"} 1"),
            "{metrics}"
        );

        // Batching: three checks within the window arrive as one event naming all three.
        let (s, v) = app
            .json(
                Method::PATCH,
                "/api/v1/plugins/webhook-notify",
                json!({"delivery": {"cooldown_seconds": 0, "batch_seconds": 2}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        for name in &names {
            check(name.clone()).await;
        }
        let batch = eventually(Duration::from_secs(10), "the batch", || async {
            events().get(2).cloned()
        })
        .await;
        assert_eq!(batch["kind"], "update-available", "{batch}");
        assert!(
            batch["summary"]
                .as_str()
                .unwrap()
                .starts_with("3 updates available: "),
            "{batch}"
        );
        for name in &names {
            assert!(
                batch["summary"].as_str().unwrap().contains(name.as_str()),
                "{batch}"
            );
        }
        assert_eq!(
            batch["detail"].as_str().unwrap().lines().count(),
            3,
            "{batch}"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(events().len(), 3, "one delivery per batch: {:?}", events());
        for name in &names {
            app.cleanup(name).await;
        }
    });
}

/// Uploads a plugin from plugins/dist.
async fn upload(app: &TestApp, name: &str) {
    let (status, body) = app.upload_plugin(name).await;
    assert!(status.is_success(), "upload {name}: {status} {body}");
}

#[test]
fn semver_strategy_reports_and_moves_the_tag() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        upload(&app, "semver-strategy").await;
        let (s, v) = app
            .json(
                Method::PATCH,
                "/api/v1/plugins/semver-strategy",
                // `list_tags: false`: the plugin only sees the candidates the host found.
                json!({"grants": {"capabilities": ["registry"]},
                   "config": {"threshold": "minor", "list_tags": false}, "enabled": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // 1.2.3 runs; the registry also has 1.3.0 (a minor step) and 2.0.0 (major: over the
        // threshold).
        let name = unique("semver");
        let repo = format!("{REGISTRY}/sdmdtest/{name}/app");
        for tag in ["1.2.3", "1.3.0", "2.0.0"] {
            build_http_image(&format!("{repo}:{tag}"), tag, "");
        }
        let port = free_port();
        let yaml = format!(
            "name: {name}\nservices:\n  web:\n    image: {repo}:1.2.3\n    init: true\n    ports: [\"127.0.0.1:{port}:80\"]\n"
        );
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;
        eventually(Duration::from_secs(10), "1.2.3 serving", || async {
            http_get(port).await.filter(|b| b.trim() == "1.2.3")
        })
        .await;
        let (s, v) = app
            .json(
                Method::PUT,
                &format!("/api/v1/services/{name}/plugins"),
                json!({"strategy": "semver-strategy"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // The check reports the tag move and its semver difference; so does the list. Nothing
        // is stored or changed by a check.
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(v["update_available"], true, "{v}");
        let image = &v["images"][0];
        assert_eq!(image["kind"], "tag", "{v}");
        assert_eq!(image["target"], format!("{repo}:1.3.0"), "{v}");
        assert_eq!(image["semver_diff"], "minor", "{v}");
        let listed = app.listed(&name).await.unwrap();
        assert_eq!(
            listed["pending_update"],
            json!({"image": format!("{repo}:1.2.3"), "kind": "tag",
                   "target": format!("{repo}:1.3.0"), "semver_diff": "minor"}),
            "{listed}"
        );
        assert_eq!(listed["revision"], 1);
        let (_, one) = app.get(&format!("/api/v1/services/{name}")).await;
        assert_eq!(one["pending_update"], listed["pending_update"], "{one}");

        // The update moves the tag: a new revision with 1.3.0, audited with the strategy's name,
        // and 1.3.0 serving.
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "updated", "{v}");
        assert!(
            v["steps"].as_array().unwrap().iter().any(
                |s| s["step"] == "strategy" && s["message"].as_str().unwrap().contains("1.3.0")
            ),
            "{v}"
        );
        eventually(Duration::from_secs(10), "1.3.0 serving", || async {
            http_get(port).await.filter(|b| b.trim() == "1.3.0")
        })
        .await;
        let (_, service) = app.get(&format!("/api/v1/services/{name}")).await;
        assert_eq!(service["revision"], 2, "{service}");
        assert_eq!(
            service["definition"]["services"]["web"]["image"],
            format!("{repo}:1.3.0")
        );
        let (_, audit) = app
            .get(&format!("/api/v1/audit?target={name}&action=service.edit"))
            .await;
        assert_eq!(
            audit["entries"][0]["details"]["strategy"], "semver-strategy",
            "{audit}"
        );
        // Nothing further within the threshold: the next check is quiet.
        app.forget_registry_answer(&format!("{repo}:1.3.0")).await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(v["update_available"], false, "{v}");
        assert!(app.listed(&name).await.unwrap()["pending_update"].is_null());
        app.cleanup(&name).await;
    });
}

#[test]
fn a_container_that_dies_on_its_own_is_reported_once() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let (port, got) = receiver().await;
        install_webhook(&app, port).await;
        let name = unique("died");
        let image = format!("{REGISTRY}/sdmdtest/{name}/app:latest");
        // Runs a few seconds (longer than the deploy), says why, then fails.
        build_image(
            &image,
            "FROM local/busybox:1\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"sleep 3; echo out of cheese; exit 3\"]\n",
        );
        let yaml = format!(
            "name: {name}\nservices:\n  worker:\n    image: {image}\n  idle:\n    image: local/busybox:1\n    command: [sleep, \"600\"]\n"
        );
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        let (s, v) = app
            .json(
                Method::PUT,
                &format!("/api/v1/services/{name}/plugins"),
                json!({"notifiers": ["webhook-notify"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;
        let died = eventually(
            Duration::from_secs(15),
            "the container-died event",
            || async {
                got.lock()
                    .unwrap()
                    .iter()
                    .find(|e| e["kind"] == "container-died")
                    .cloned()
            },
        )
        .await;
        assert_eq!(died["service"], name.as_str(), "{died}");
        let summary = died["summary"].as_str().unwrap();
        assert!(
            summary.contains(&format!("{name}-worker")) && summary.contains("exited with 3"),
            "{died}"
        );
        assert!(
            died["detail"].as_str().unwrap().contains("out of cheese"),
            "the last log lines come along: {died}"
        );

        // Stopping on purpose is no news: `docker stop` outside sdmd (sleep ignores SIGTERM, so
        // the engine kills it: exit 137), then the service through sdmd.
        docker(&["stop", "-t", "1", &format!("{name}-idle")]);
        app.ok(Method::POST, &format!("/api/v1/services/{name}/stop"))
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let kinds: Vec<Value> = got
            .lock()
            .unwrap()
            .iter()
            .map(|e| e["kind"].clone())
            .collect();
        assert_eq!(kinds, [json!("container-died")], "{kinds:?}");
        app.cleanup(&name).await;
    });
}
