//! One name, one service: a managed service cannot take a name an unmanaged compose project or
//! container already has; services that still share a name (a compose project started later)
//! each keep their own id and page; `not_deployed` and the container counts of the list — against
//! the real engine and docker-compose 1.29.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

/// A docker-compose 1.29 project of one busybox member, brought down (with volumes) on drop.
struct ComposeProject {
    name: String,
    dir: tempfile::TempDir,
}

impl ComposeProject {
    fn up(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "version: '2.4'\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: sleep 300\n    labels:\n      sdmd.test: '1'\n",
        )
        .unwrap();
        let p = Self {
            name: name.to_owned(),
            dir,
        };
        let out = p.compose(&["up", "-d"]);
        assert!(
            out.status.success(),
            "docker-compose up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    }

    fn compose(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["-f", "compose.yaml"];
        all.extend(args);
        support::docker::compose(self.dir.path(), &self.name, &all)
    }

    /// docker-compose 1.29 names containers `<project>_<service>_<n>`.
    fn container(&self) -> String {
        format!("{}_app_1", self.name)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let out = self.compose(&["down", "-v", "-t", "0"]);
        if !out.status.success() {
            eprintln!(
                "docker-compose down of {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A standalone busybox container, removed on drop.
struct Lone(String);

impl Lone {
    fn run(name: &str) -> Self {
        docker(&[
            "run",
            "-d",
            "--init",
            "--label",
            "sdmd.test",
            "--name",
            name,
            "local/busybox:1",
            "sleep",
            "300",
        ]);
        Self(name.to_owned())
    }
}

impl Drop for Lone {
    fn drop(&mut self) {
        docker_ok(&["rm", "-f", "-v", &self.0]);
    }
}

async fn stored_services(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from services")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every list item named `name`, in list order.
async fn rows(app: &TestApp, name: &str) -> Vec<Value> {
    let (s, v) = app.get("/api/v1/services").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .cloned()
        .collect()
}

fn container_names(v: &Value) -> Vec<String> {
    v["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn busybox(name: &str) -> String {
    format!(
        "name: {name}\nservices:\n  web: {{image: local/busybox:1, command: [sleep, '300'], init: true, labels: {{sdmd.test: '1'}}}}\n"
    )
}

/// Creating `name` answers 409 `name_in_use_unmanaged` naming the holder, and stores nothing.
async fn refused(app: &TestApp, pool: &sqlx::PgPool, name: &str, kind: &str, containers: &[&str]) {
    let before = stored_services(pool).await;
    let (s, v) = app.post_yaml("/api/v1/services", &busybox(name)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_in_use_unmanaged")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap();
    let noun = if kind == "compose" {
        "compose project"
    } else {
        "container"
    };
    let prefix = if kind == "compose" {
        "compose"
    } else {
        "container"
    };
    let id = format!("{prefix}:{name}");
    assert!(
        message.contains(noun) && message.contains(&format!("/api/v1/services/{id}/adopt")),
        "the message names the holder and offers adopt: {message}"
    );
    assert_eq!(
        v["details"],
        json!({
            "kind": kind,
            "id": id,
            "containers": containers,
            "adopt": format!("/api/v1/services/{id}/adopt"),
        })
    );
    assert_eq!(stored_services(pool).await, before, "nothing was stored");
    // JSON bodies take the same path.
    let (s, v) = app
        .post_json(
            "/api/v1/services",
            &json!({"name": name, "services": {"web": {"image": "local/busybox:1"}}}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_in_use_unmanaged")),
        "{v}"
    );
    assert_eq!(stored_services(pool).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_standalone_containers_name_cannot_become_a_managed_service(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let name = unique("lone");
    let _lone = Lone::run(&name);
    eventually(
        Duration::from_secs(5),
        "the container in the list",
        || async { app.listed(&name).await },
    )
    .await;
    refused(&app, &pool, &name, "standalone", &[name.as_str()]).await;

    // The offered way out works: adopt by id, and the name is then a managed service.
    let v = app
        .ok(
            Method::POST,
            &format!("/api/v1/services/container:{name}/adopt"),
        )
        .await;
    assert_eq!(
        (v["id"].as_str(), v["kind"].as_str()),
        (Some(name.as_str()), Some("managed"))
    );
    let (s, v) = app.post_yaml("/api/v1/services", &busybox(&name)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken")),
        "a managed holder is reported as such: {v}"
    );
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_compose_projects_name_cannot_become_a_managed_service(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let name = unique("proj");
    let project = ComposeProject::up(&name);
    let listed = eventually(
        Duration::from_secs(5),
        "the project in the list",
        || async { app.listed(&name).await },
    )
    .await;
    assert_eq!(
        (listed["id"].as_str(), listed["kind"].as_str()),
        (Some(format!("compose:{name}").as_str()), Some("compose"))
    );
    refused(
        &app,
        &pool,
        &name,
        "compose",
        &[project.container().as_str()],
    )
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn services_sharing_a_name_each_open_their_own_page(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("depbench");
    let (s, v) = app.post_yaml("/api/v1/services", &busybox(&name)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    // Someone runs `docker-compose -p <name> up` after the managed service exists.
    let project = ComposeProject::up(&name);
    let managed_container = format!("{name}-web");

    let listed = eventually(
        Duration::from_secs(5),
        "both services in the list",
        || async {
            let r = rows(&app, &name).await;
            (r.len() == 2 && r.iter().all(|s| s["containers_running"] == 1)).then_some(r)
        },
    )
    .await;
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let compose_id = format!("compose:{name}");
    assert_eq!(ids, [name.as_str(), compose_id.as_str()]);
    assert_eq!(container_names(&listed[0]), [managed_container.as_str()]);
    assert_eq!(container_names(&listed[1]), [project.container()]);

    // Each id opens its own page (percent-encoded too, as the dashboard sends it).
    let check = |id: String, kind: &'static str, containers: Vec<String>| {
        let app = &app;
        async move {
            let v = app.ok(Method::GET, &format!("/api/v1/services/{id}")).await;
            assert_eq!(
                (v["kind"].as_str(), container_names(&v)),
                (Some(kind), containers),
                "{id}"
            );
        }
    };
    check(name.clone(), "managed", vec![managed_container.clone()]).await;
    check(compose_id.clone(), "compose", vec![project.container()]).await;
    check(
        format!("compose%3A{name}"),
        "compose",
        vec![project.container()],
    )
    .await;
    let (s, v) = app.get(&format!("/api/v1/services/container:{name}")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("service_not_found")),
        "{v}"
    );

    // Lifecycle and logs by id touch only that service's containers.
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{compose_id}/stop"))
        .await;
    assert_eq!(v["stopped"], json!(["app"]), "{v}");
    assert_eq!(
        inspect(&managed_container)["State"]["Running"],
        true,
        "the managed service kept running"
    );
    let (s, logs) = app
        .get(&format!("/api/v1/services/{compose_id}/logs?tail=5"))
        .await;
    assert_eq!(s, StatusCode::OK, "{logs}");
    let logged: Vec<&str> = logs["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["container"].as_str().unwrap())
        .collect();
    assert_eq!(logged, [project.container()]);
    let v = app
        .ok(
            Method::POST,
            &format!("/api/v1/services/{compose_id}/start"),
        )
        .await;
    assert_eq!(v["started"], json!(["app"]), "{v}");
    // Managed-only operations on the compose id say it is unmanaged; adopt says the name is taken.
    let (s, v) = app
        .post(&format!("/api/v1/services/{compose_id}/deploy"))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("unmanaged_service")),
        "{v}"
    );
    let (s, v) = app
        .post(&format!("/api/v1/services/{compose_id}/adopt"))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_managed")),
        "{v}"
    );

    drop(project);
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stored_service_is_not_deployed_and_counts_follow_its_containers(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("counts");
    let yaml = format!(
        "name: {name}\nservices:\n  a: {{image: local/busybox:1, command: [sleep, '300'], init: true, labels: {{sdmd.test: '1'}}}}\n  b: {{image: local/busybox:1, command: [sleep, '300'], init: true, labels: {{sdmd.test: '1'}}}}\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let check = |v: &Value, expected: (&str, u64, u64)| {
        assert_eq!(
            (
                v["status"].as_str().unwrap(),
                v["containers_total"].as_u64().unwrap(),
                v["containers_running"].as_u64().unwrap()
            ),
            expected,
            "{v}"
        );
    };
    check(&v, ("not_deployed", 0, 0));
    check(&app.listed(&name).await.unwrap(), ("not_deployed", 0, 0));
    check(
        &app.ok(Method::GET, &format!("/api/v1/services/{name}"))
            .await,
        ("not_deployed", 0, 0),
    );

    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    docker(&["stop", "-t", "0", &format!("{name}-b")]);
    let listed = eventually(Duration::from_secs(5), "the stop in the list", || async {
        app.listed(&name)
            .await
            .filter(|s| s["containers_running"] == 1)
    })
    .await;
    check(&listed, ("partial", 2, 1));
    app.cleanup(&name).await;
}
