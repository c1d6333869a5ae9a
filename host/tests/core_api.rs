//! Validation, error shapes, status from events, Docker outages, unmanaged services and adoption,
//! and the OpenAPI document — against real PostgreSQL and Docker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use sdmd::docker::Docker;
use serde_json::{Value, json};
use support::*;

async fn counts(pool: &sqlx::PgPool) -> (i64, i64, i64) {
    let q = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    (
        q("select count(*) from services").await,
        q("select count(*) from service_revisions").await,
        q("select count(*) from audit_log").await,
    )
}

fn base() -> Value {
    json!({
        "name": "valid",
        "services": {
            "web": {"image": "127.0.0.1:5000/demo/app:latest", "depends_on": ["db"]},
            "db": {"image": "127.0.0.1:5000/demo/db:1"}
        },
        "volumes": {"data": {}}
    })
}

/// Applies `patch` (a JSON merge of the base document) and expects 422 naming exactly `fields`.
async fn check(app: &TestApp, pool: &sqlx::PgPool, patch: Value, fields: &[&str]) {
    let mut doc = base();
    merge(&mut doc, patch.clone());
    let before = counts(pool).await;
    let (s, v) = app.post_json("/api/v1/services", &doc).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{patch} → {v}");
    assert_eq!(v["code"], "validation_failed", "{v}");
    let got: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(got, fields, "{patch} → {v}");
    for p in v["details"].as_array().unwrap() {
        assert!(!p["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        counts(pool).await,
        before,
        "an invalid definition changed the database"
    );
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) if !b.is_empty() => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(&k);
                } else {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (a, b) => *a = b,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_validation_rule_answers_422_with_field_paths(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    check(&app, &pool, json!({"name": "Not_DNS"}), &["name"]).await;
    check(&app, &pool, json!({"name": "-x"}), &["name"]).await;
    check(&app, &pool, json!({"name": null}), &["name"]).await;
    check(
        &app,
        &pool,
        json!({"services": {"Web_1": {"image": "a"}}}),
        &["services.Web_1"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"image": "UPPER/Case"}}}),
        &["services.web.image"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"image": null}}}),
        &["services.web.image"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"ports": ["80", "1.2.3:80:80", "8080:70000", "53:53/icmp", "8000-8002:80-81"]}}}),
        &["services.web.ports[1]", "services.web.ports[2]", "services.web.ports[3]", "services.web.ports[4]"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"volumes": ["data:/data:ro", "~/rel:/x", "data:relative", "/a:/b:bogus", "undeclared:/u"]}}}),
        &["services.web.volumes[1]", "services.web.volumes[2]", "services.web.volumes[3]", "services.web.volumes[4]"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"restart": "sometimes"}}}),
        &["services.web.restart"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"restart": "on-failure:x"}}}),
        &["services.web.restart"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"depends_on": ["nope"]}}}),
        &["services.web.depends_on.nope"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"depends_on": {"db": {"condition": "service_completed"}}}}}),
        &["services.web.depends_on.db.condition"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"db": {"image": "x", "depends_on": ["web"]}}}),
        &["services.web.depends_on"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"depends_on": ["web"]}}}),
        &["services.web.depends_on.web"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"environment": ["OK=1", "NOEQUALS"]}}}),
        &["services.web.environment[1]"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"environment": 5}}}),
        &["services.web.environment"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"gpus": "all"}}}),
        &["services.web.gpus"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"container_name": "bad name"}}}),
        &["services.web.container_name"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"container_name": "same"}, "db": {"container_name": "same"}}}),
        &["services.db.container_name"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"labels": {"io.sdmd.service": "x"}}}}),
        &["services.web.labels.io.sdmd.service"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"healthcheck": {"test": ["BOGUS"], "interval": "soon"}}}}),
        &[
            "services.web.healthcheck.test",
            "services.web.healthcheck.interval",
        ],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"init": "maybe"}}}),
        &["services.web.init"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"services": {"web": {"command": 5}}}),
        &["services.web.command"],
    )
    .await;
    check(&app, &pool, json!({"services": {}}), &["services"]).await;
    check(&app, &pool, json!({"bogus": {}}), &["bogus"]).await;
    // Networks are supported; a member's network must be declared.
    check(
        &app,
        &pool,
        json!({"services": {"web": {"networks": ["nope"]}}}),
        &["services.web.networks.nope"],
    )
    .await;
    check(
        &app,
        &pool,
        json!({"volumes": {"bad/name": {}}}),
        &["volumes.bad/name"],
    )
    .await;
    // Several problems at once are all reported.
    check(
        &app,
        &pool,
        json!({"name": "BAD", "services": {"web": {"image": "UP", "restart": "x"}}}),
        &["name", "services.web.image", "services.web.restart"],
    )
    .await;

    // The base document itself is valid.
    let (s, v) = app.post_json("/api/v1/services", &base()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // PUT with an invalid document leaves the revision alone.
    let mut bad = base();
    merge(&mut bad, json!({"services": {"web": {"ports": ["x"]}}}));
    let before = counts(&pool).await;
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/services/valid",
            Some(("application/json", bad.to_string())),
        )
        .await;
    assert_eq!(
        (s, v["details"][0]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("services.web.ports[0]")
        )
    );
    assert_eq!(counts(&pool).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn errors_have_one_shape(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let check = |s: StatusCode, v: &Value, status: StatusCode, code: &str| {
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    };
    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(("application/json", "{not json".into())),
        )
        .await;
    check(s, &v, StatusCode::BAD_REQUEST, "malformed_body");
    assert!(v["details"].as_str().unwrap().contains("line 1"), "{v}");
    let (s, v) = app.post_yaml("/api/v1/services", "name: [unclosed").await;
    check(s, &v, StatusCode::BAD_REQUEST, "malformed_body");
    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(("text/plain", "x".into())),
        )
        .await;
    check(
        s,
        &v,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let (s, v) = app.get("/api/v1/services/does-not-exist").await;
    check(s, &v, StatusCode::NOT_FOUND, "service_not_found");
    let (s, v) = app.post("/api/v1/services/does-not-exist/deploy").await;
    check(s, &v, StatusCode::NOT_FOUND, "service_not_found");
    let (s, v) = app.get("/api/v1/nothing-here").await;
    check(s, &v, StatusCode::NOT_FOUND, "route_not_found");
    let (s, v) = app.call(Method::PATCH, "/api/v1/services", None).await;
    check(s, &v, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let (s, v) = app.get("/api/v1/audit?limit=0").await;
    check(s, &v, StatusCode::BAD_REQUEST, "invalid_query");
    let (s, v) = app.get("/api/v1/audit?before=abc").await;
    check(s, &v, StatusCode::BAD_REQUEST, "invalid_query");
    let yaml = "name: taken\nservices:\n  web: {image: local/busybox:1}\n";
    assert_eq!(
        app.post_yaml("/api/v1/services", yaml).await.0,
        StatusCode::CREATED
    );
    let before = counts(&pool).await;
    let (s, v) = app.post_yaml("/api/v1/services", yaml).await;
    check(s, &v, StatusCode::CONFLICT, "name_taken");
    assert_eq!(counts(&pool).await, before);
    let (s, v) = app
        .put_yaml(
            "/api/v1/services/taken",
            "name: other\nservices:\n  web: {image: local/busybox:1}\n",
        )
        .await;
    check(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // An identical PUT stores no revision and no audit row.
    let before = counts(&pool).await;
    let (s, v) = app.put_yaml("/api/v1/services/taken", yaml).await;
    assert_eq!((s, v["revision"].as_i64()), (StatusCode::OK, Some(1)));
    assert_eq!(counts(&pool).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_container_stopped_outside_sdmd_shows_stopped_within_2s(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("outside");
    let yaml = format!(
        "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [\"sleep\", \"300\"]\n    labels: {{sdmd.test: \"1\"}}\n"
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml).await.0,
        StatusCode::CREATED
    );
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(app.listed(&name).await.unwrap()["status"], "running");
    docker(&["stop", "-t", "0", &format!("{name}-app")]);
    let stopped_at = std::time::Instant::now();
    eventually(
        Duration::from_secs(2),
        "the list to show the service stopped",
        || async {
            let s = app.listed(&name).await?;
            (s["status"] == "stopped" && s["containers"][0]["state"] == "exited").then_some(())
        },
    )
    .await;
    eprintln!("stopped state visible after {:?}", stopped_at.elapsed());
    // And removal outside SDMD disappears from the list too.
    docker(&["rm", "-f", &format!("{name}-app")]);
    eventually(
        Duration::from_secs(2),
        "the container to disappear",
        || async {
            let s = app.listed(&name).await?;
            (s["containers"].as_array()?.is_empty() && s["deployed"] == false).then_some(())
        },
    )
    .await;
    app.cleanup(&name).await;
}

/// A unix-socket proxy (socat) in front of the real engine that the test can take down and bring
/// back, so an outage is real for SDMD without stopping the shared daemon.
struct SocketProxy {
    path: PathBuf,
    child: Option<std::process::Child>,
}

impl SocketProxy {
    fn new(dir: &tempfile::TempDir) -> Self {
        Self {
            path: dir.path().join("docker.sock"),
            child: None,
        }
    }

    fn up(&mut self) {
        let child = std::process::Command::new("socat")
            .arg(format!("UNIX-LISTEN:{},fork", self.path.display()))
            .arg("UNIX-CONNECT:/var/run/docker.sock")
            .spawn()
            .expect("socat is missing: run `bash scripts/test-env.sh`");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !self.path.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "socat did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The forked connection handlers first, so established streams break too.
            std::process::Command::new("pkill")
                .args(["-KILL", "-P", &c.id().to_string()])
                .status()
                .unwrap();
            c.kill().unwrap();
            c.wait().unwrap();
        }
        if self.path.exists() {
            std::fs::remove_file(&self.path).unwrap();
        }
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        self.down();
    }
}

#[test]
fn docker_outage_answers_503_and_recovers_by_itself() {
    with_db(|pool| async move { docker_outage(pool).await });
}

async fn docker_outage(pool: sqlx::PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = SocketProxy::new(&dir);
    let host = format!("unix://{}", proxy.path.display());
    let app = TestApp::with_docker(pool, Docker::new(Some(host)), false).await;

    // Engine unreachable from the start.
    let (s, v) = app.get("/api/v1/services").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("docker_unavailable")),
        "{v}"
    );
    let yaml = "name: outage\nservices:\n  app: {image: local/busybox:1, command: [sleep, '60'], init: true, labels: {sdmd.test: '1'}}\n";
    assert_eq!(
        app.post_yaml("/api/v1/services", yaml).await.0,
        StatusCode::CREATED,
        "definitions need only the database"
    );
    let (s, v) = app.post("/api/v1/services/outage/deploy").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("docker_unavailable")),
        "{v}"
    );
    let (_, h) = app.get("/healthz").await;
    assert_eq!(
        (h["status"].as_str(), h["docker"]["ok"].as_bool()),
        (Some("degraded"), Some(false))
    );

    // The engine comes back: SDMD reconnects and resyncs without help.
    proxy.up();
    eventually(Duration::from_secs(10), "reconnection", || async {
        (app.get("/api/v1/services").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    app.ok(Method::POST, "/api/v1/services/outage/deploy").await;
    assert_eq!(app.listed("outage").await.unwrap()["status"], "running");

    // Lost again mid-life (the events stream breaks), and back again: the state is resynced,
    // including a change that happened while SDMD could not see it.
    proxy.down();
    eventually(
        Duration::from_secs(5),
        "the outage to be noticed",
        || async {
            (app.get("/api/v1/services").await.0 == StatusCode::SERVICE_UNAVAILABLE).then_some(())
        },
    )
    .await;
    docker(&["stop", "-t", "0", "outage-app"]);
    proxy.up();
    eventually(
        Duration::from_secs(10),
        "resync after the outage",
        || async {
            let (code, v) = app.get("/api/v1/services").await;
            let s = v["services"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == "outage")?
                .clone();
            (code == StatusCode::OK && s["status"] == "stopped").then_some(())
        },
    )
    .await;
    app.cleanup("outage").await;
    proxy.down();
}

#[sqlx::test(migrations = "../migrations")]
async fn unmanaged_containers_are_listed_and_can_be_adopted(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let project = unique("legacy");
    let lone = unique("lone");
    let port = free_port();
    let image = format!("{REGISTRY}/sdmdtest/{project}/app:1");
    build_http_image(
        &image,
        "legacy",
        "ENV IMAGE_DEFAULT=yes\nLABEL maintainer=someone",
    );
    docker(&[
        "run",
        "-d",
        "--init",
        "--name",
        &format!("{project}-web-1"),
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        "com.docker.compose.service=web",
        "--label",
        "tier=edge",
        "-e",
        "GREETING=hi",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "--restart",
        "unless-stopped",
        "-v",
        &format!("{project}_data:/data"),
        &image,
    ]);
    docker(&[
        "run",
        "-d",
        "--init",
        "--name",
        &lone,
        "--label",
        "sdmd.test=1",
        "local/busybox:1",
        "sleep",
        "60",
    ]);

    let listed = eventually(
        Duration::from_secs(2),
        "unmanaged services in the list",
        || async {
            let a = app.listed(&project).await?;
            let b = app.listed(&lone).await?;
            Some((a, b))
        },
    )
    .await;
    assert_eq!(
        (listed.0["kind"].as_str(), listed.0["status"].as_str()),
        (Some("compose"), Some("running"))
    );
    assert_eq!(listed.0["revision"], Value::Null);
    assert_eq!(listed.1["kind"], "standalone");
    // Lifecycle works on unmanaged services too; deploy needs a definition.
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{lone}/stop"))
        .await;
    assert_eq!(v["stopped"], json!([lone]));
    let (s, v) = app.post(&format!("/api/v1/services/{lone}/deploy")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("unmanaged_service")),
        "{v}"
    );
    let (s, logs) = app.get(&format!("/api/v1/services/{project}/logs")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        logs["containers"][0]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["line"] == "started legacy")
    );

    // Adopt: the definition comes from inspect, minus the image's defaults.
    let (s, v) = app.post(&format!("/api/v1/services/{project}/adopt")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let web = &v["definition"]["services"]["web"];
    assert_eq!(web["image"], image.as_str());
    assert_eq!(
        web["environment"],
        json!({"GREETING": "hi"}),
        "PATH and IMAGE_DEFAULT come from the image"
    );
    assert_eq!(
        web["labels"],
        json!({"tier": "edge"}),
        "image and compose labels dropped"
    );
    assert_eq!(web["ports"], json!([format!("127.0.0.1:{port}:80")]));
    assert_eq!(web["restart"], "unless-stopped");
    // Bound without a mode, the engine recorded `z` (a relabel): the definition says so, since
    // SDMD would otherwise send `rw`.
    assert_eq!(web["volumes"], json!(["data:/data:z"]));
    assert!(
        web.get("command").is_none(),
        "CMD equal to the image's is not copied: {web}"
    );
    assert_eq!(v["kind"], "managed");
    assert_eq!(
        v["containers"].as_array().unwrap().len(),
        1,
        "the adopted container belongs to the service"
    );
    let (s, v) = app.post(&format!("/api/v1/services/{project}/adopt")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_managed"))
    );

    // Deploying replaces the adopted container with SDMD's own, on the same volume.
    docker(&[
        "exec",
        &format!("{project}-web-1"),
        "sh",
        "-c",
        "echo kept > /data/state",
    ]);
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{project}/deploy"))
        .await;
    assert_eq!(v["created"], json!(["web"]), "{v}");
    let c = inspect(&format!("{project}-web-1"));
    assert_eq!(c["Config"]["Labels"]["io.sdmd.service"], project.as_str());
    assert_eq!(
        docker(&["exec", &format!("{project}-web-1"), "cat", "/data/state"]).trim(),
        "kept"
    );
    let body = eventually(Duration::from_secs(10), "the adopted page", || {
        http_get(port)
    })
    .await;
    assert_eq!(body.trim(), "legacy");

    app.cleanup(&project).await;
    docker_ok(&["volume", "rm", &format!("{project}_data")]);
    docker_ok(&["rm", "-f", &lone]);
}

#[sqlx::test(migrations = "../migrations")]
async fn openapi_document_and_docs_page(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let (s, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/services",
        "/api/v1/services/{name}",
        "/api/v1/services/{name}/deploy",
        "/api/v1/services/{name}/logs",
        "/api/v1/services/{name}/adopt",
        "/api/v1/events",
        "/api/v1/audit",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["Definition"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let (s, html) = app.get("/api/docs").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.as_str().unwrap().contains("/api/v1/openapi.json"));
}

#[test]
fn the_dashboard_is_served_outside_the_gate_and_api_paths_stay_json() {
    with_db(|pool| async move {
        let mut app = TestApp::new(pool).await;
        // Without a build, `/` says how to build one.
        let resp = app
            .raw(
                axum::http::Request::builder()
                    .uri("/")
                    .header("authorization", "none")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("scripts/frontend.sh build"));

        // With a build: pages by directory, a 404 page, and API paths never fall through.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>home</html>").unwrap();
        std::fs::create_dir_all(dir.path().join("audit")).unwrap();
        std::fs::write(
            dir.path().join("audit/index.html"),
            "<html>audit page</html>",
        )
        .unwrap();
        std::fs::write(dir.path().join("404.html"), "<html>not here</html>").unwrap();
        app.state.ui_dir = Some(std::sync::Arc::new(dir.path().to_path_buf()));
        app.router = sdmd::api::app(app.state.clone());
        let get = |uri: &'static str| {
            let app = &app;
            async move {
                // No credentials: the dashboard is public, the API behind it is not.
                let req = axum::http::Request::builder()
                    .uri(uri)
                    .header("authorization", "none")
                    .body(axum::body::Body::empty())
                    .unwrap();
                let resp = app.raw(req).await;
                let status = resp.status();
                let ct = resp
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                let body = http_body_util::BodyExt::collect(resp.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                (status, ct, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let (s, ct, body) = get("/").await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, "<html>home</html>"));
        assert!(ct.starts_with("text/html"), "{ct}");
        assert_eq!(get("/audit/").await.2, "<html>audit page</html>");
        let (s, _, body) = get("/no/such/page/").await;
        assert_eq!(
            (s, body.as_str()),
            (StatusCode::NOT_FOUND, "<html>not here</html>")
        );
        let (s, ct, body) = get("/api/v1/nope").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(
            ct.starts_with("application/json") && body.contains("route_not_found"),
            "{ct} {body}"
        );
        let (s, _, body) = get("/api/v1/services").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    });
}
