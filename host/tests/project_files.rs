//! A service carries its project directory's files (`.env`, env files, configs): multipart and
//! JSON uploads, sealed storage, masked reads, interpolation on deploy, env files under
//! `environment`, relative binds in `<stacks>/<service>/`, and every refusal changing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::*;

async fn not_stored(app: &TestApp, name: &str) {
    let (s, v) = app.get(&format!("/api/v1/services/{name}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing may be stored: {v}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stack_with_env_files_and_relative_binds(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("stack");
    let compose = format!(
        "name: {name}\nservices:\n  app:\n    image: local/busybox:${{TAG:-1}}\n    init: true\n    command: [sh, -c, 'echo $$GREETING > /data/out; exec sleep 300']\n    env_file: [./app.env]\n    environment:\n      GREETING: hello-${{WHO}}\n      PASSWORD: ${{DB_PASSWORD}}\n      EMPTY: ${{NOT_SET}}\n      MODE: plain\n    volumes: ['./data:/data', './conf/app.conf:/etc/app.conf:ro']\n"
    );
    let (s, v) = app
        .post_multipart(
            "/api/v1/services",
            &[
                ("compose", &compose),
                (".env", "WHO=world\nDB_PASSWORD=s3cret-pw\n"),
                ("app.env", "TOKEN=tok-123\nGREETING=overridden\n"),
                ("conf/app.conf", "listen 80\n"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["warnings"][0]["field"], "services.app.environment.EMPTY",
        "an unset variable is a warning: {v}"
    );
    // What is shown masks what came from sealed files.
    let env = &v["definition"]["services"]["app"]["environment"];
    assert_eq!(env["PASSWORD"], "********", "{env}");
    assert_eq!(env["TOKEN"], "********", "{env}");
    assert_eq!(
        env["GREETING"], "********",
        "it reads the sealed .env: {env}"
    );
    assert_eq!(env["MODE"], "plain", "{env}");
    assert!(!v.to_string().contains("s3cret-pw"), "{v}");

    // Files: listed with their seal, masked unless revealed (audited).
    let (s, files) = app.get(&format!("/api/v1/services/{name}/files")).await;
    assert_eq!(s, StatusCode::OK, "{files}");
    let sealed: Vec<(String, bool)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["sealed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sealed,
        vec![
            (".env".to_owned(), true),
            ("app.env".to_owned(), true),
            ("conf/app.conf".to_owned(), false)
        ]
    );
    let (_, f) = app
        .get(&format!("/api/v1/services/{name}/files/.env"))
        .await;
    assert_eq!(f["masked"], true);
    assert_eq!(f["content"], "WHO=********\nDB_PASSWORD=********");
    let (_, f) = app
        .get(&format!("/api/v1/services/{name}/files/.env?reveal=true"))
        .await;
    assert_eq!(f["content"], "WHO=world\nDB_PASSWORD=s3cret-pw\n");
    let (_, audit) = app.get("/api/v1/audit?action=service.file.reveal").await;
    assert!(audit.to_string().contains(".env"), "{audit}");
    let (_, f) = app
        .get(&format!("/api/v1/services/{name}/files/conf%2Fapp.conf"))
        .await;
    assert_eq!(
        (f["masked"].as_bool(), f["content"].as_str()),
        (Some(false), Some("listen 80\n"))
    );

    // Export keeps the ${} text; the resolved view is interpolated and masked.
    let (_, yaml) = app.get(&format!("/api/v1/services/{name}/compose")).await;
    let yaml = yaml.as_str().unwrap();
    assert!(
        yaml.contains("${DB_PASSWORD}") && yaml.contains("./data:/data"),
        "{yaml}"
    );
    let (_, yaml) = app
        .get(&format!("/api/v1/services/{name}/compose?resolved=true"))
        .await;
    let yaml = yaml.as_str().unwrap();
    assert!(
        yaml.contains("local/busybox:1") && !yaml.contains("s3cret-pw"),
        "{yaml}"
    );

    // Deploy: real values in the container, files in the project directory, binds anchored.
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let c = format!("{name}-app");
    let env = env_of(&c);
    for want in [
        "GREETING=hello-world",
        "PASSWORD=s3cret-pw",
        "TOKEN=tok-123",
        "EMPTY=",
    ] {
        assert!(env.iter().any(|e| e == want), "{want} in {env:?}");
    }
    let dir = stacks_dir().join(&name);
    let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(".env"), 0o600);
    assert_eq!(mode("app.env"), 0o600);
    assert_eq!(mode("conf/app.conf"), 0o644);
    assert_eq!(docker(&["exec", &c, "cat", "/etc/app.conf"]), "listen 80\n");
    let out = eventually(
        std::time::Duration::from_secs(5),
        "the bind-mounted output",
        || async { std::fs::read_to_string(dir.join("data/out")).ok() },
    )
    .await;
    assert_eq!(out, "hello-world\n", "$$ is a literal $ for the shell");

    // Replacing one file stores a new revision; deploy recreates with the new value.
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/services/{name}/files/app.env"),
            Some(("text/plain", "TOKEN=tok-456\n".into())),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revision"], 2);
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["recreated"], json!(["app"]), "{v}");
    assert!(env_of(&c).iter().any(|e| e == "TOKEN=tok-456"));

    // A plain YAML PUT changes the document and keeps the files.
    let (s, v) = app
        .put_yaml(
            &format!("/api/v1/services/{name}"),
            &compose.replace("MODE: plain", "MODE: changed"),
        )
        .await;
    assert_eq!(
        (s, v["revision"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{v}"
    );
    let (_, files) = app.get(&format!("/api/v1/services/{name}/files")).await;
    assert_eq!(files.as_array().unwrap().len(), 3, "{files}");

    app.cleanup(&name).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[sqlx::test(migrations = "../migrations")]
async fn json_bodies_carry_files_too(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("jsonfiles");
    let (s, v) = app
        .post_json(
            "/api/v1/services",
            &json!({
                "name": name,
                "services": {"app": {"image": "local/busybox:${TAG}"}},
                "files": {".env": "TAG=1\n"}
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["definition"]["services"]["app"]["image"],
        "local/busybox:1"
    );
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_change_nothing(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("refuse");
    let check = |doc: String,
                 files: Vec<(&'static str, &'static str)>,
                 field: &'static str,
                 says: &'static str| {
        let app = &app;
        let name = name.clone();
        async move {
            let mut parts: Vec<(&str, &str)> = vec![("compose", doc.as_str())];
            parts.extend(files.iter().copied());
            let (s, v) = app.post_multipart("/api/v1/services", &parts).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            let details = v["details"].as_array().unwrap();
            assert!(
                details
                    .iter()
                    .any(|d| d["field"] == field && d["message"].as_str().unwrap().contains(says)),
                "{field} / {says} in {v}"
            );
            not_stored(app, &name).await;
        }
    };
    let base = format!("name: {name}\nservices:\n  app:\n    image: local/busybox:1\n");
    check(
        format!("{base}    environment: ['X=${{X:?need X}}']\n"),
        vec![],
        "services.app.environment[0]",
        "need X",
    )
    .await;
    check(
        format!("{base}    volumes: ['../../etc:/host-etc']\n"),
        vec![],
        "services.app.volumes[0]",
        "leaves the stacks directory",
    )
    .await;
    check(
        format!("{base}    env_file: [db.env]\n"),
        vec![(".env", "A=1\n")],
        "services.app.env_file[0]",
        "db.env",
    )
    .await;
    check(
        base.clone(),
        vec![("../escape", "x")],
        "files.../escape",
        "not a project file path",
    )
    .await;

    // A symlink in the project directory that leads out is refused at deploy, nothing created.
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!("{base}    volumes: ['./link/sub:/x']\n"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dir = stacks_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("symlink"), "{v}");
    assert!(
        support::service_containers(&name).is_empty(),
        "nothing created"
    );
    app.cleanup(&name).await;
    std::fs::remove_dir_all(&dir).ok();
}
