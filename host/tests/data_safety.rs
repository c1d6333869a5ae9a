//! Never lose data: a deploy never removes a volume it did not create and never swaps a mounted
//! volume for a new one — across a recreate, and across adopt → deploy of a `docker run`
//! container with a named and an anonymous volume. Real engine, real volumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

/// The file `path` inside container `c`, trimmed.
fn read(c: &str, path: &str) -> String {
    docker(&["exec", c, "cat", path]).trim().to_owned()
}

/// (destination → volume name) of a container's volume mounts.
fn volume_mounts(c: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = inspect(c)["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["Type"] == "volume")
        .map(|m| {
            (
                m["Destination"].as_str().unwrap().to_owned(),
                m["Name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn volume_exists(name: &str) -> bool {
    docker_ok(&["volume", "inspect", name])
}

#[sqlx::test(migrations = "../migrations")]
async fn a_recreate_keeps_anonymous_and_named_volume_data(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("keep");
    let doc = |greeting: &str| {
        format!(
            "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    environment: {{GREETING: {greeting}}}\n    volumes: [/cache, 'data:/data']\nvolumes:\n  data: {{}}\n"
        )
    };
    let (s, v) = app.post_yaml("/api/v1/services", &doc("one")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let c = format!("{name}-app");
    docker(&[
        "exec",
        &c,
        "sh",
        "-c",
        "echo anon > /cache/f && echo named > /data/f",
    ]);
    let before = volume_mounts(&c);
    assert_eq!(before.len(), 2, "{before:?}");

    // A changed definition recreates the container: both volumes, and their data, stay.
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &doc("two"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["recreated"], json!(["app"]), "{v}");
    assert_eq!(volume_mounts(&c), before, "the same volumes are mounted");
    assert_eq!(read(&c, "/cache/f"), "anon");
    assert_eq!(read(&c, "/data/f"), "named");

    // Deleting without ?volumes keeps every volume; with it, SDMD removes the ones it created.
    let (s, v) = app.delete_service(&name, true).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (_, vol) in &before {
        assert!(
            !volume_exists(vol),
            "{vol} was created by SDMD and asked for"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn delete_without_volumes_keeps_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("delkeep");
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!("name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    volumes: [/cache, 'data:/data']\nvolumes:\n  data: {{}}\n"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let mounts = volume_mounts(&format!("{name}-app"));
    let (s, v) = app.delete_service(&name, false).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["volumes"], json!([]), "{v}");
    for (_, vol) in &mounts {
        assert!(
            volume_exists(vol),
            "{vol} must survive a delete without ?volumes"
        );
        docker_ok(&["volume", "rm", vol]);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn adopt_then_deploy_mounts_the_same_volumes(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("runvol");
    let named = format!("{name}-data");
    docker(&[
        "run",
        "-d",
        "--init",
        "--name",
        &name,
        "--label",
        "sdmd.test=1",
        "-v",
        &format!("{named}:/data"),
        "-v",
        "/anon",
        "local/busybox:1",
        "sleep",
        "300",
    ]);
    docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo named > /data/f && echo anon > /anon/f",
    ]);
    let before = volume_mounts(&name);
    assert_eq!(before.len(), 2, "{before:?}");

    let v = eventually(
        std::time::Duration::from_secs(5),
        "the container in the list",
        || app.listed(&name),
    )
    .await;
    assert_eq!(v["kind"], "standalone");
    let (s, v) = app.post(&format!("/api/v1/services/{name}/adopt")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let vols = &v["definition"]["volumes"];
    for (_, vol) in &before {
        let decl = vols
            .as_object()
            .unwrap()
            .values()
            .find(|d| d["name"] == vol.as_str())
            .unwrap_or_else(|| panic!("{vol} is declared by its real name: {vols}"));
        assert_eq!(decl["external"], Value::Bool(true), "{vols}");
    }

    // The first deploy replaces the container; the new one mounts the same volumes and data.
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["created"].as_array().unwrap().len(), 1, "{v}");
    let c = inspect(&name);
    assert_eq!(c["Config"]["Labels"]["io.sdmd.service"], name.as_str());
    assert_eq!(volume_mounts(&name), before, "the same volumes are mounted");
    assert_eq!(read(&name, "/data/f"), "named");
    assert_eq!(read(&name, "/anon/f"), "anon");

    // Even ?volumes=true never removes what SDMD did not create.
    let (s, v) = app.delete_service(&name, true).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["volumes"], json!([]), "{v}");
    for (_, vol) in &before {
        assert!(volume_exists(vol), "{vol} belongs to the user");
        docker_ok(&["volume", "rm", vol]);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_external_volume_must_exist_and_reserved_volume_labels_are_refused(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("extvol");
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!("name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    volumes: ['data:/data']\nvolumes:\n  data: {{external: true, name: {name}-missing}}\n"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["details"][0]["field"], "volumes.data", "{v}");
    assert!(!volume_exists(&format!("{name}-missing")), "not created");

    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!("name: {name}-b\nservices:\n  app:\n    image: local/busybox:1\n    volumes: ['data:/data']\nvolumes:\n  data:\n    labels: {{io.sdmd.service: someone-else}}\n"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["details"][0]["field"],
        "volumes.data.labels.io.sdmd.service"
    );
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn adopt_a_compose_project_from_its_own_files(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("cfile");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        "services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    env_file: [app.env]\n    environment: {GREETING: '${GREETING:-unset}'}\n    volumes: ['data:/data', /anon, './host:/host']\n    labels: {sdmd.test: '1'}\nvolumes:\n  data: {}\n",
    )
    .unwrap();
    std::fs::write(dir.join(".env"), "GREETING=hello\n").unwrap();
    std::fs::write(dir.join("app.env"), "TOKEN=t1\n").unwrap();
    let up = support::docker::compose(&dir, &name, &["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let original = format!("{name}_app_1");
    docker(&[
        "exec",
        &original,
        "sh",
        "-c",
        "echo d > /data/f && echo a > /anon/f && echo h > /host/f",
    ]);
    let before: Vec<String> = volume_mounts(&original)
        .into_iter()
        .map(|(_, v)| v)
        .collect();

    eventually(
        std::time::Duration::from_secs(5),
        "the compose project in the list",
        || app.listed(&name),
    )
    .await;
    let (s, v) = app.post(&format!("/api/v1/services/{name}/adopt")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The stored document is the original file, `${}` text and env_file kept.
    let (_, yaml) = app.get(&format!("/api/v1/services/{name}/compose")).await;
    let yaml = yaml.as_str().unwrap();
    assert!(
        yaml.contains("${GREETING:-unset}") && yaml.contains("app.env"),
        "{yaml}"
    );
    let (_, files) = app.get(&format!("/api/v1/services/{name}/files")).await;
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");

    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let c = format!("{name}-app");
    let env = inspect(&c)["Config"]["Env"].to_string();
    assert!(
        env.contains("GREETING=hello") && env.contains("TOKEN=t1"),
        "{env}"
    );
    assert_eq!(read(&c, "/data/f"), "d", "the same named volume");
    assert_eq!(
        read(&c, "/anon/f"),
        "a",
        "the anonymous volume was carried over"
    );
    assert_eq!(
        read(&c, "/host/f"),
        "h",
        "./host still points at the project's directory"
    );
    let after: Vec<String> = volume_mounts(&c).into_iter().map(|(_, v)| v).collect();
    assert_eq!(after, before);

    let (s, v) = app.delete_service(&name, true).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["volumes"], json!([]), "{v}");
    for v in &before {
        assert!(
            volume_exists(v),
            "{v} came with the adopted project: never removed"
        );
    }
    for v in before {
        docker_ok(&["volume", "rm", &v]);
    }
    docker_ok(&["network", "rm", &format!("{name}_default")]);
}
