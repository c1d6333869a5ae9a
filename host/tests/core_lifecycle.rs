//! The core against the real engine, PostgreSQL and the local registry: a two-member service from
//! YAML through deploy, logs, edit, update and delete.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use support::*;

fn two_member_yaml(name: &str, repo: &str, port: u16, bind_dir: &str, greeting: &str) -> String {
    format!(
        r#"
name: {name}
services:
  web:
    image: {REGISTRY}/{repo}/web:latest
    environment:
      GREETING: {greeting}
      MODE: test
    volumes: ["data:/data", "{bind_dir}:/srv:ro"]
    ports: ["127.0.0.1:{port}:80"]
    restart: unless-stopped
    init: true
    labels: {{tier: frontend}}
    depends_on:
      db: {{condition: service_healthy}}
  db:
    image: {REGISTRY}/{repo}/db:1
    init: true
    healthcheck:
      # busybox-static's wget crashes on name lookups (static glibc); nc does not.
      test: ["CMD-SHELL", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80 | grep -q db"]
      interval: 1s
      timeout: 2s
      retries: 5
volumes:
  data: {{labels: {{sdmd.test: "1"}}}}
"#
    )
}

fn container_id(name: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn two_member_service_from_yaml_to_delete(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let name = unique("shop");
    let repo = format!("sdmdtest/{name}");
    build_http_image(&format!("{REGISTRY}/{repo}/web:latest"), "web v1", "");
    build_http_image(&format!("{REGISTRY}/{repo}/db:1"), "db", "");
    let port = free_port();
    let bind = tempfile::tempdir().unwrap();
    std::fs::write(bind.path().join("hello.txt"), "from the host").unwrap();
    let bind_dir = bind.path().to_str().unwrap().to_owned();

    // Create from YAML.
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &two_member_yaml(&name, &repo, port, &bind_dir, "hi"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["revision"], 1);
    assert_eq!(v["kind"], "managed");
    assert_eq!(
        v["definition"]["services"]["web"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );

    // Deploy: db first (healthy), then web.
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["created"], serde_json::json!(["db", "web"]), "{v}");

    // docker inspect shows every field of the definition.
    let web = inspect(&format!("{name}-web"));
    let env: Vec<&str> = web["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"GREETING=hi") && env.contains(&"MODE=test"),
        "{env:?}"
    );
    let labels = &web["Config"]["Labels"];
    assert_eq!(labels["io.sdmd.service"], name.as_str());
    assert_eq!(labels["io.sdmd.member"], "web");
    assert_eq!(labels["io.sdmd.revision"], "1");
    assert_eq!(labels["io.sdmd.config-hash"].as_str().unwrap().len(), 64);
    assert_eq!(labels["tier"], "frontend");
    let hc = &web["HostConfig"];
    assert_eq!(hc["RestartPolicy"]["Name"], "unless-stopped");
    assert_eq!(hc["Init"], true);
    assert_eq!(hc["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(
        hc["PortBindings"]["80/tcp"][0]["HostPort"],
        port.to_string()
    );
    let mounts = web["Mounts"].as_array().unwrap();
    let data = mounts
        .iter()
        .find(|m| m["Destination"] == "/data")
        .expect("named volume mounted");
    assert_eq!(
        (
            data["Type"].as_str(),
            data["Name"].as_str(),
            data["RW"].as_bool()
        ),
        (
            Some("volume"),
            Some(format!("{name}_data").as_str()),
            Some(true)
        )
    );
    let srv = mounts
        .iter()
        .find(|m| m["Destination"] == "/srv")
        .expect("bind mounted");
    assert_eq!(
        (srv["Type"].as_str(), srv["RW"].as_bool()),
        (Some("bind"), Some(false))
    );
    let net = &web["NetworkSettings"]["Networks"][format!("sdmd_{name}")];
    assert!(
        net["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "web"),
        "{net}"
    );
    let db = inspect(&format!("{name}-db"));
    assert_eq!(
        db["State"]["Health"]["Status"], "healthy",
        "db was healthy before web started"
    );

    // The page answers; members reach each other by member name; the bind mount is read-only.
    let body = eventually(Duration::from_secs(10), "the web page", || http_get(port)).await;
    assert_eq!(body.trim(), "web v1");
    let via_name = docker(&[
        "exec",
        &format!("{name}-web"),
        "sh",
        "-c",
        "printf 'GET / HTTP/1.0\r\n\r\n' | nc db 80 | tail -n 1",
    ]);
    assert_eq!(
        via_name.trim(),
        "db",
        "members reach each other by member name"
    );
    assert_eq!(
        docker(&["exec", &format!("{name}-web"), "cat", "/srv/hello.txt"]).trim(),
        "from the host"
    );
    assert!(
        !docker_ok(&[
            "exec",
            &format!("{name}-web"),
            "sh",
            "-c",
            "echo x > /srv/new"
        ]),
        "bind is read-only"
    );
    docker(&[
        "exec",
        &format!("{name}-web"),
        "sh",
        "-c",
        "echo kept > /data/state",
    ]);

    // Logs of a running member and of a stopped one.
    docker(&["stop", "-t", "1", &format!("{name}-web")]);
    eventually(Duration::from_secs(2), "web shown stopped", || async {
        let v = app.get(&format!("/api/v1/services/{name}")).await.1;
        let web = v["containers"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == format!("{name}-web"))?
            .clone();
        (web["state"] == "exited" && v["status"] == "partial").then_some(())
    })
    .await;
    let (s, logs) = app
        .get(&format!("/api/v1/services/{name}/logs?tail=100"))
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    let by_container = |c: &str| -> Value {
        logs["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["container"] == c)
            .cloned()
            .unwrap()
    };
    let web_logs = by_container(&format!("{name}-web"));
    assert_eq!(web_logs["state"], "exited");
    assert!(
        web_logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["line"] == "started web v1" && l["stream"] == "stdout")
    );
    assert!(
        web_logs["lines"][0]["ts"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    let db_logs = by_container(&format!("{name}-db"));
    assert_eq!(db_logs["state"], "running");
    assert!(
        db_logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["line"] == "started db")
    );
    let (s, v) = app
        .get(&format!("/api/v1/services/{name}/logs?tail=10001"))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );

    // Start brings web back; deploying again is a no-op.
    app.ok(Method::POST, &format!("/api/v1/services/{name}/start"))
        .await;
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["unchanged"], serde_json::json!(["db", "web"]), "{v}");

    // Edit one member's environment: only that member is recreated.
    let (web_before, db_before) = (
        container_id(&format!("{name}-web")),
        container_id(&format!("{name}-db")),
    );
    let (s, v) = app
        .put_yaml(
            &format!("/api/v1/services/{name}"),
            &two_member_yaml(&name, &repo, port, &bind_dir, "hello"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revision"], 2);
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(
        (v["recreated"].clone(), v["unchanged"].clone()),
        (serde_json::json!(["web"]), serde_json::json!(["db"])),
        "{v}"
    );
    assert_ne!(container_id(&format!("{name}-web")), web_before);
    assert_eq!(container_id(&format!("{name}-db")), db_before);
    let web = inspect(&format!("{name}-web"));
    assert!(
        web["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hello")
    );
    assert_eq!(web["Config"]["Labels"]["io.sdmd.revision"], "2");

    // Push a new image under the same tag: update recreates web on the new digest; pull progress
    // streams on /api/v1/events meanwhile.
    let events = app
        .raw(
            Request::builder()
                .uri("/api/v1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let collector = tokio::spawn(async move {
        let mut body = events.into_body();
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !seen.contains("event: pull_progress")
            || !seen.contains("\"action\":\"service.update\"")
        {
            let frame = tokio::time::timeout_at(deadline, body.frame()).await;
            match frame {
                Ok(Some(Ok(f))) => {
                    if let Some(d) = f.data_ref() {
                        seen.push_str(&String::from_utf8_lossy(d));
                    }
                }
                _ => break,
            }
        }
        seen
    });
    let old_image = web["Image"].as_str().unwrap().to_owned();
    build_http_image(&format!("{REGISTRY}/{repo}/web:latest"), "web v2", "");
    // Forget the local copy of v2 so the update really pulls it from the registry.
    docker_ok(&["rmi", &format!("{REGISTRY}/{repo}/web:latest")]);
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
        .await;
    let images = v["pull"]["images"].as_array().unwrap();
    let web_img = images
        .iter()
        .find(|i| i["image"] == format!("{REGISTRY}/{repo}/web:latest"))
        .unwrap();
    assert_eq!(web_img["changed"], true, "{v}");
    assert!(
        web_img["new_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{v}"
    );
    let db_img = images
        .iter()
        .find(|i| i["image"] == format!("{REGISTRY}/{repo}/db:1"))
        .unwrap();
    assert_eq!(db_img["changed"], false);
    assert_eq!(v["members"]["recreated"], serde_json::json!(["web"]), "{v}");
    assert_eq!(v["members"]["unchanged"], serde_json::json!(["db"]), "{v}");
    let web = inspect(&format!("{name}-web"));
    assert_ne!(web["Image"].as_str().unwrap(), old_image);
    assert!(
        web["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hello"),
        "same config"
    );
    let body = eventually(Duration::from_secs(10), "the v2 page", || async {
        http_get(port).await.filter(|b| b.trim() == "web v2")
    })
    .await;
    assert_eq!(body.trim(), "web v2");
    assert_eq!(
        docker(&["exec", &format!("{name}-web"), "cat", "/data/state"]).trim(),
        "kept",
        "volume data survives"
    );
    let seen = collector.await.unwrap();
    assert!(
        seen.contains("event: pull_progress"),
        "no pull progress on the events stream: {seen}"
    );

    // Compose export round-trips.
    let (s, yaml) = app.get(&format!("/api/v1/services/{name}/compose")).await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_norway::from_str(yaml.as_str().unwrap()).unwrap();
    assert_eq!(doc["services"]["web"]["environment"]["GREETING"], "hello");

    // Audit: one row per mutation, in order.
    let (_, audit) = app
        .get(&format!("/api/v1/audit?target={name}&limit=100"))
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "service.create",
            "service.deploy",
            "service.start",
            "service.deploy",
            "service.edit",
            "service.deploy",
            "service.update"
        ],
    );

    // Delete with volumes: nothing left.
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/services/{name}?volumes=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        support::service_containers(&name).is_empty(),
        "nothing created"
    );
    assert!(
        !docker_ok(&["network", "inspect", &format!("sdmd_{name}")]),
        "network removed"
    );
    assert!(
        !docker_ok(&["volume", "inspect", &format!("{name}_data")]),
        "volume removed"
    );
    let (s, v) = app.get(&format!("/api/v1/services/{name}")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("service_not_found"))
    );
    let (_, audit) = app
        .get(&format!("/api/v1/audit?target={name}&limit=1"))
        .await;
    assert_eq!(audit["entries"][0]["action"], "service.delete");
}

#[sqlx::test(migrations = "../migrations")]
async fn follow_logs_streams_new_lines(pool: sqlx::PgPool) {
    let mut app = TestApp::new(pool).await;
    // Streams re-check their credential every 200 ms here (30 s by default).
    app.state.stream_recheck = Duration::from_millis(200);
    app.router = sdmd::api::app(app.state.clone());
    let name = unique("ticker");
    let yaml = format!(
        r#"
name: {name}
services:
  tick:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.2; done"]
    labels: {{sdmd.test: "1"}}
"#
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml).await.0,
        StatusCode::CREATED
    );
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let resp = app
        .raw(
            Request::builder()
                .uri(format!("/api/v1/services/{name}/logs?tail=1&follow=true"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.matches("event: log").count() < 3 {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(f))) => seen.push_str(&String::from_utf8_lossy(
                f.data_ref().map(|d| d.as_ref()).unwrap_or_default(),
            )),
            other => panic!("log stream ended early ({other:?}): {seen}"),
        }
    }
    assert!(
        seen.contains(&format!("\"container\":\"{name}-tick\"")),
        "{seen}"
    );
    assert!(seen.contains("\"line\":\"tick "), "{seen}");
    // Its API token revoked, the stream ends with an `unauthorized` error event (issue 11,
    // item 4) although the container keeps printing.
    let tokens = sdmd::auth::tokens::list(&app.state.db).await.unwrap();
    assert_eq!(tokens.len(), 1, "only the harness token");
    sdmd::auth::tokens::revoke(
        &app.state.db,
        &sdmd::db::audit::AuditContext::system(),
        tokens[0].id,
    )
    .await
    .unwrap();
    let mut rest = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(35);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(f))) => rest.push_str(&String::from_utf8_lossy(
                f.data_ref().map(|d| d.as_ref()).unwrap_or_default(),
            )),
            Ok(None) => break,
            other => panic!("log stream still open or failed ({other:?}): {rest}"),
        }
    }
    assert!(
        rest.contains("event: error\ndata: {\"code\":\"unauthorized\""),
        "{rest}"
    );
    drop(body);
    // The harness token is gone: clean up through a fresh one.
    app.token = sdmd::auth::tokens::create(
        &app.state.db,
        &sdmd::db::audit::AuditContext::system(),
        "test-harness-cleanup",
        None,
    )
    .await
    .unwrap()
    .secret;
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conflicts_answer_409_with_dockers_message(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let port = free_port();
    let (a, b) = (unique("porta"), unique("portb"));
    let yaml = |name: &str, extra: &str| {
        format!(
            "name: {name}\nservices:\n  web:\n    image: local/busybox:1\n    init: true\n    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n    ports: [\"127.0.0.1:{port}:80\"]\n    labels: {{sdmd.test: \"1\"}}\n{extra}"
        )
    };
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml(&a, "")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml(&b, "")).await.0,
        StatusCode::CREATED
    );
    app.ok(Method::POST, &format!("/api/v1/services/{a}/deploy"))
        .await;
    let (s, v) = app.post(&format!("/api/v1/services/{b}/deploy")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("docker_conflict")),
        "{v}"
    );
    assert!(
        v["details"]
            .as_str()
            .unwrap()
            .contains("port is already allocated"),
        "{v}"
    );
    assert!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.sdmd.service={b}")
        ])
        .trim()
        .is_empty(),
        "the failed container was removed"
    );

    // A container name taken by a container SDMD does not manage.
    let c = unique("squatter");
    docker(&[
        "run",
        "-d",
        "--name",
        &format!("{c}-web"),
        "--label",
        "sdmd.test=1",
        "local/busybox:1",
        "sleep",
        "60",
    ]);
    let yaml_c = format!(
        "name: {c}\nservices:\n  web:\n    image: local/busybox:1\n    command: [\"sleep\", \"60\"]\n    labels: {{sdmd.test: \"1\"}}\n"
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml_c).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app.post(&format!("/api/v1/services/{c}/deploy")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("docker_conflict")),
        "{v}"
    );
    assert!(
        v["details"].as_str().unwrap().contains("already in use"),
        "{v}"
    );
    docker_ok(&["rm", "-f", &format!("{c}-web")]);
    for n in [&a, &b, &c] {
        app.cleanup(n).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn unhealthy_dependency_stops_the_deploy_with_a_clear_error(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("sick");
    let yaml = format!(
        r#"
name: {name}
services:
  app:
    image: local/busybox:1
    command: ["sleep", "60"]
    init: true
    labels: {{sdmd.test: "1"}}
    depends_on: {{db: {{condition: service_healthy}}}}
  db:
    image: local/busybox:1
    command: ["sleep", "60"]
    init: true
    labels: {{sdmd.test: "1"}}
    healthcheck: {{test: ["CMD", "false"], interval: 1s, retries: 1}}
"#
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("dependency_not_ready")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("`app` waits for `db`"),
        "{v}"
    );
    assert!(
        !docker_ok(&["inspect", &format!("{name}-app")]),
        "app was never created"
    );
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit?target={name}&action=service.deploy"
        ))
        .await;
    assert_eq!(audit["entries"][0]["result"], "dependency_not_ready");
    app.cleanup(&name).await;
}

/// Members without a dependency path between them deploy concurrently: a member that fails
/// blocks only what depends on it (as in docker compose), the deploy reports it by name, and
/// every dependency started before its dependents.
#[sqlx::test(migrations = "../migrations")]
async fn a_failing_member_blocks_only_its_dependents(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("chains");
    let member = |deps: &str, command: &str| {
        // Without init the engine itself runs the command, so a missing binary fails the start.
        let init = !command.contains("no/such");
        format!(
            "    image: local/busybox:1\n    init: {init}\n    command: {command}\n    labels: {{sdmd.test: \"1\"}}\n    depends_on: [{deps}]\n"
        )
    };
    let sleep = r#"["sleep", "60"]"#;
    let yaml = format!(
        "name: {name}\nservices:\n  a1:\n{}  a2:\n{}  a3:\n{}  b1:\n{}  b2:\n{}  b3:\n{}",
        member("", sleep),
        member("a1", sleep),
        member("a2", sleep),
        member("", sleep),
        // Cannot start: the engine refuses a command that does not exist.
        member("b1", r#"["/no/such/binary"]"#),
        member("b2", sleep),
    );
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    // The engine answers 400 for a command the image does not have: the definition's fault.
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("docker_rejected")),
        "{v}"
    );
    assert!(
        v["details"].as_str().unwrap().contains("member `b2`"),
        "{v}"
    );
    let running = |m: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{.State.Running}}",
            &format!("{name}-{m}"),
        ])
        .trim()
            == "true"
    };
    // The chain without a path to the failure is complete; b2's dependency ran; b2 was removed
    // again and b3 was never created.
    for m in ["a1", "a2", "a3", "b1"] {
        assert!(running(m), "{m} runs");
    }
    for m in ["b2", "b3"] {
        assert!(
            !docker_ok(&["inspect", &format!("{name}-{m}")]),
            "{m} absent"
        );
    }
    let started = |m: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{.State.StartedAt}}",
            &format!("{name}-{m}"),
        ])
        .trim()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
    };
    assert!(started("a1") <= started("a2") && started("a2") <= started("a3"));
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit?target={name}&action=service.deploy"
        ))
        .await;
    assert_eq!(audit["entries"][0]["result"], "docker_rejected", "{audit}");
    app.cleanup(&name).await;
}

/// `scale` / `deploy.replicas`: N containers per member, numbered as compose numbers them;
/// scaling down removes the highest numbers and keeps their volumes; scaling never recreates
/// the replicas that stay; lifecycle operations act on every replica; dependents wait for all
/// replicas of a dependency.
#[sqlx::test(migrations = "../migrations")]
async fn replicas_scale_up_and_down_and_follow_the_lifecycle(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("scaled");
    let yaml = |web_scale: u32| {
        format!(
            r#"
name: {name}
services:
  web:
    image: local/busybox:1
    init: true
    command: ["sleep", "600"]
    scale: {web_scale}
    volumes: ["/data"]
    labels: {{sdmd.test: "1"}}
    depends_on: {{db: {{condition: service_healthy}}}}
  db:
    image: local/busybox:1
    init: true
    command: ["sleep", "600"]
    deploy: {{replicas: 2}}
    labels: {{sdmd.test: "1"}}
    healthcheck: {{test: ["CMD-SHELL", "exit 0"], interval: 1s, retries: 3}}
"#
        )
    };
    let (s, v) = app.post_yaml("/api/v1/services", &yaml(3)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["created"], serde_json::json!(["db", "web"]), "{v}");
    let replica = |c: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"io.sdmd.replica\"}} {{.State.Running}}",
            c,
        ])
        .trim()
        .to_owned()
    };
    for (c, n) in [
        ("web", 1),
        ("web-2", 2),
        ("web-3", 3),
        ("db", 1),
        ("db-2", 2),
    ] {
        assert_eq!(replica(&format!("{name}-{c}")), format!("{n} true"), "{c}");
    }
    // web started only once both db replicas were healthy.
    let health = |c: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            &format!("{name}-{c}"),
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(
        (health("db").as_str(), health("db-2").as_str()),
        ("healthy", "healthy")
    );
    let listed = app.listed(&name).await.expect("listed");
    assert_eq!(
        (&listed["containers_total"], &listed["containers_running"]),
        (&serde_json::json!(5), &serde_json::json!(5)),
        "{listed}"
    );

    // Data in the anonymous volume of replica 3, which scaling down removes.
    docker_ok(&[
        "exec",
        &format!("{name}-web-3"),
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let volume = docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &format!("{name}-web-3"),
    ])
    .trim()
    .to_owned();
    let first = container_id(&format!("{name}-web"));
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &yaml(1))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["unchanged"], serde_json::json!(["db", "web"]), "{v}");
    assert_eq!(
        v["removed"],
        serde_json::json!([format!("{name}-web-3"), format!("{name}-web-2")]),
        "{v}"
    );
    assert_eq!(
        container_id(&format!("{name}-web")),
        first,
        "replica 1 stays"
    );
    assert!(!docker_ok(&["inspect", &format!("{name}-web-2")]));
    let kept = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data"),
        "local/busybox:1",
        "cat",
        "/data/f",
    ]);
    assert_eq!(
        kept.trim(),
        "kept",
        "a removed replica's volume keeps its data"
    );

    // Scaling up adds replica 2 next to the untouched replica 1.
    app.put_yaml(&format!("/api/v1/services/{name}"), &yaml(2))
        .await;
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(
        (v["created"].clone(), v["unchanged"].clone()),
        (serde_json::json!(["web"]), serde_json::json!(["db"])),
        "{v}"
    );
    assert_eq!(container_id(&format!("{name}-web")), first);
    assert_eq!(replica(&format!("{name}-web-2")), "2 true");

    // stop, start and restart act on every replica.
    let all = ["web", "web-2", "db", "db-2"];
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/stop"))
        .await;
    assert_eq!(v["stopped"], serde_json::json!(["web", "db"]), "{v}");
    for c in all {
        assert!(
            replica(&format!("{name}-{c}")).ends_with("false"),
            "{c} stopped"
        );
    }
    let listed = app.listed(&name).await.expect("listed");
    assert_eq!(listed["containers_total"], 4, "{listed}");
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/start"))
        .await;
    assert_eq!(v["started"], serde_json::json!(["db", "web"]), "{v}");
    for c in all {
        assert!(
            replica(&format!("{name}-{c}")).ends_with("true"),
            "{c} runs"
        );
    }
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/restart"))
        .await;
    assert_eq!(
        (v["stopped"].clone(), v["started"].clone()),
        (
            serde_json::json!(["web", "db"]),
            serde_json::json!(["db", "web"])
        ),
        "{v}"
    );

    // A fixed name cannot go to several containers; scale and deploy.replicas must agree.
    let bad = yaml(2).replace(
        "    scale: 2\n",
        "    scale: 2\n    container_name: fixed-web\n",
    );
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &bad)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("services.web.container_name"), "{v}");
    let bad = yaml(3).replace(
        "deploy: {replicas: 2}",
        "deploy: {replicas: 2}\n    scale: 3",
    );
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &bad)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("services.db.deploy.replicas"), "{v}");

    app.cleanup(&name).await;
    docker_ok(&["volume", "rm", &volume]);
}

/// Docker's 400 is about what the definition asks for (here: an image with neither `CMD` nor
/// `ENTRYPOINT`, and no `command`), not an engine fault: the deploy answers 422
/// `docker_rejected` with the engine's message in `details`, not 502, and leaves no container.
#[sqlx::test(migrations = "../migrations")]
async fn dockers_400_on_deploy_is_a_422_with_its_message(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("nocmd");
    // A local image (`FROM scratch`, one label): no command to run.
    let image = format!("local/sdmd-test-{name}:1");
    support::docker::build_local(&image, "FROM scratch\nLABEL sdmd.test=1\n");
    let yaml = format!(
        "name: {name}\nservices:\n  app:\n    image: {image}\n    pull_policy: never\n    labels: {{sdmd.test: \"1\"}}\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("docker_rejected")),
        "{v}"
    );
    let details = v["details"].as_str().unwrap_or_default();
    assert!(details.contains("No command specified"), "{v}");
    assert!(details.contains("member `app`"), "the member is named: {v}");
    assert!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.sdmd.service={name}")
        ])
        .trim()
        .is_empty(),
        "no container is left of the refused deploy"
    );
    app.cleanup(&name).await;
    docker_ok(&["rmi", &image]);
}

/// An update of a scaled member recreates every replica (all at once) on the new image, and each
/// replica keeps the data of its own anonymous volume.
#[sqlx::test(migrations = "../migrations")]
async fn update_recreates_every_replica_with_its_volume(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("updrep");
    let image = format!("{REGISTRY}/sdmd-test/{name}:latest");
    build_http_image(&image, "v1", "VOLUME /state");
    let yaml = format!(
        "name: {name}\nservices:\n  web:\n    image: {image}\n    init: true\n    labels: {{sdmd.test: '1'}}\n    scale: 2\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let replicas = [format!("{name}-web"), format!("{name}-web-2")];
    for (i, c) in replicas.iter().enumerate() {
        docker(&[
            "exec",
            c,
            "sh",
            "-c",
            &format!("echo replica{i} > /state/f"),
        ]);
    }
    let before: Vec<String> = replicas
        .iter()
        .map(|c| inspect(c)["Id"].as_str().unwrap().to_owned())
        .collect();
    build_http_image(&image, "v2", "VOLUME /state");
    docker_ok(&["rmi", &image]);
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
        .await;
    assert_eq!(v["members"]["recreated"], serde_json::json!(["web"]), "{v}");
    for (i, c) in replicas.iter().enumerate() {
        let now = inspect(c);
        assert_ne!(now["Id"].as_str().unwrap(), before[i], "{c} not recreated");
        assert_eq!(
            docker(&["exec", c, "cat", "/state/f"]).trim(),
            format!("replica{i}"),
            "{c}: its own volume's data"
        );
        assert_eq!(
            docker(&["exec", c, "cat", "/www/index.html"]).trim(),
            "v2",
            "{c} runs the new image"
        );
    }
    app.cleanup(&name).await;
    docker_ok(&["rmi", &image]);
}
