//! The CLI client against a real server: `sdmd apply -f FILE` sends the compose file's project
//! files with it (the `.env` next to it, its `env_file`s) as `multipart/form-data`, refuses paths
//! that leave the file's directory (through `..` or a symbolic link) before sending anything, and
//! `sdmd adopt` refuses silent loss unless `--accept-loss`, printing what was dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use axum::http::{Method, StatusCode};
use support::{TestApp, docker, docker_ok, eventually, inspect, unique};

/// Runs `sdmd args…` against the server; (success, stdout+stderr).
async fn cli(url: &str, token: &str, args: &[&str]) -> (bool, String) {
    let mut c = support::process::client(url, token);
    c.args(args);
    support::process::output_async(c).await
}

fn write(dir: &Path, path: &str, content: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn compose(name: &str, env_file: &str) -> String {
    format!(
        r#"name: {name}
services:
  app:
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    labels: {{sdmd.test: "1"}}
    environment:
      GREETING: ${{GREETING}}
    env_file: [{env_file}, {{path: ./optional.env, required: false}}]
"#
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn apply_sends_the_project_files_and_refuses_escapes(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let url = app.serve().await;
    let name = unique("apply");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("stack");
    write(&dir, "compose.yaml", &compose(&name, "./conf/app.env"));
    write(&dir, ".env", "GREETING=hello-from-dotenv\n");
    write(&dir, "conf/app.env", "FROM_FILE=yes\n");
    let file = dir.join("compose.yaml");
    let file = file.to_str().unwrap();

    let (ok, out) = cli(&url, &app.token, &["apply", "-f", file]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "created {name} (revision 1) with .env, conf/app.env"
        )) && out.contains("created: app"),
        "{out}"
    );
    let (s, files) = app.get(&format!("/api/v1/services/{name}/files")).await;
    assert_eq!(s, StatusCode::OK, "{files}");
    let mut paths: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, [".env", "conf/app.env"], "{files}");
    // The container got the `.env` interpolation and the env file.
    let env = inspect(&format!("{name}-app"))["Config"]["Env"].clone();
    for kv in ["GREETING=hello-from-dotenv", "FROM_FILE=yes"] {
        assert!(
            env.as_array().unwrap().iter().any(|e| e == kv),
            "{kv}: {env}"
        );
    }

    // A changed env file is a new revision.
    write(&dir, "conf/app.env", "FROM_FILE=again\n");
    let (ok, out) = cli(&url, &app.token, &["apply", "--no-deploy", "-f", file]).await;
    assert!(
        ok && out.contains(&format!("updated {name} (revision 2)")),
        "{out}"
    );

    // Escapes are refused before anything is sent: `..`, and a symbolic link out of the
    // directory. Nothing is stored.
    write(root.path(), "outside.env", "SECRET=1\n");
    let other = unique("escape");
    write(&dir, "up.yaml", &compose(&other, "../outside.env"));
    let (ok, out) = cli(
        &url,
        &app.token,
        &["apply", "-f", dir.join("up.yaml").to_str().unwrap()],
    )
    .await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "services.app.env_file[0]: `../outside.env` is outside the compose file's directory"
        ),
        "{out}"
    );
    std::os::unix::fs::symlink(root.path().join("outside.env"), dir.join("link.env")).unwrap();
    write(&dir, "link.yaml", &compose(&other, "./link.env"));
    let (ok, out) = cli(
        &url,
        &app.token,
        &["apply", "-f", dir.join("link.yaml").to_str().unwrap()],
    )
    .await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "services.app.env_file[0]: `./link.env` is outside the compose file's directory"
        ),
        "{out}"
    );
    // A required env file that is missing is named.
    write(&dir, "missing.yaml", &compose(&other, "./nope.env"));
    let (ok, out) = cli(
        &url,
        &app.token,
        &["apply", "-f", dir.join("missing.yaml").to_str().unwrap()],
    )
    .await;
    assert!(
        !ok && out.contains("services.app.env_file[0]: cannot read"),
        "{out}"
    );
    let (s, _) = app.get(&format!("/api/v1/services/{other}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored");
    app.cleanup(&name).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn adopt_prints_what_it_would_lose_and_accepts_the_loss_on_request(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let url = app.serve().await;
    let name = unique("cliadopt");
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "sdmd.test=1",
        "--init",
        "--cpuset-mems",
        "0",
        "local/busybox:1",
        "sleep",
        "300",
    ]);
    eventually(std::time::Duration::from_secs(10), "listed", || {
        app.listed(&name)
    })
    .await;
    let id = format!("container:{name}");
    let (ok, out) = cli(&url, &app.token, &["adopt", &id]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("adopt_would_lose_settings, HTTP 422")
            && out.contains(&format!("{name}: HostConfig.CpusetMems = 0: ")),
        "{out}"
    );
    let (s, v) = app.get(&format!("/api/v1/services/{id}")).await;
    assert_eq!(
        (s, v["kind"].as_str()),
        (StatusCode::OK, Some("standalone")),
        "{v}"
    );
    let (ok, out) = cli(&url, &app.token, &["adopt", &id, "--accept-loss"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("adopted {name} (revision 1)"))
            && out.contains("dropped 1 setting(s)")
            && out.contains(&format!("{name}: HostConfig.CpusetMems = 0: ")),
        "{out}"
    );
    let v = app
        .ok(Method::GET, &format!("/api/v1/services/{name}"))
        .await;
    assert_eq!(v["kind"], "managed", "{v}");
    app.cleanup(&name).await;
    docker_ok(&["rm", "-f", &name]);
}
