//! The update pipeline with real plugins: the webhook notifier (built from `plugins/`) delivers
//! `updated` and `rolled_back` events to a receiver on 127.0.0.1 that the admin granted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};

fn wasm(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the guest plugins first: plugins/build.sh",
            path.display()
        )
    })
}

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, got)
}

async fn json(app: &TestApp, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
    app.call(method, uri, Some(("application/json", body.to_string())))
        .await
}

#[test]
fn notifier_plugin_reports_updates_and_rollbacks() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let (port, got) = receiver().await;

        // Upload, grant exactly the receiver's address, configure, enable, bind to the service.
        let resp = app
            .raw(
                Request::builder()
                    .method("POST")
                    .uri("/api/v1/plugins")
                    .header("content-type", "application/wasm")
                    .body(Body::from(wasm("webhook-notify")))
                    .unwrap(),
            )
            .await;
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "upload: {status} {}",
            String::from_utf8_lossy(&body)
        );
        let (s, v) = json(
            &app,
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

        let name = unique("notify");
        let image = format!("{REGISTRY}/sdmdtest/{name}/app:latest");
        build_http_image(&image, "v1", "");
        let yaml = format!("name: {name}\nservices:\n  web:\n    image: {image}\n    init: true\n");
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        let (s, v) = json(
            &app,
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
        app.state
            .registry
            .invalidate(&sdmd::registry::ImageRef::parse(&image).unwrap())
            .await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "updated", "{v}");
        let first = eventually(Duration::from_secs(10), "the updated event", || async {
            got.lock()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "updated")
                .cloned()
        })
        .await;
        assert_eq!(first["service"], name.as_str(), "{first}");

        // v3 exits at once: rolled back, and the receiver hears that too, with the reason.
        build_image(
            &image,
            "FROM local/busybox:1\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"exit 3\"]\n",
        );
        app.state
            .registry
            .invalidate(&sdmd::registry::ImageRef::parse(&image).unwrap())
            .await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "rolled_back", "{v}");
        let rolled = eventually(Duration::from_secs(10), "the rolled-back event", || async {
            got.lock()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "rolled-back")
                .cloned()
        })
        .await;
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
