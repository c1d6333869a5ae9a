//! Apps the easy way (issue 13, "File permissions"), against the real engine and file system:
//! a linuxserver-style definition (`PUID=${PUID}`, `./config:/config`, `${MEDIA}:/media`) with
//! the standard environment deploys with its new folders owned by PUID:PGID in the UMASK mode;
//! a folder pre-created as root is warned about; fixing permissions lists it (dry run) and then
//! fixes it, audited — in this process (sdmd as root) and through the helper container (sdmd
//! not root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::db::audit_rows;
use support::*;

fn owner(p: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid(), m.permissions().mode() & 0o7777)
}

async fn standard_variables(app: &TestApp, media: &Path) {
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/variables",
            json!({"variables": {"PUID": "1234", "PGID": "2345", "UMASK": "027", "TZ": "Europe/Berlin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/settings/roots",
            json!({"roots": {"MEDIA": media}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn linuxserver(name: &str, outside: &Path) -> String {
    format!(
        "name: {name}\nx-sdmd:\n  standard_environment: true\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    labels: {{sdmd.test: '1'}}\n    environment:\n      - PUID=${{PUID}}\n      - PGID=${{PGID}}\n    volumes:\n      - ./config:/config\n      - ./data:/data\n      - ${{MEDIA}}:/media:ro\n      - {}:/outside\n",
        outside.display()
    )
}

/// The mount at `target` of a `GET …/mounts` answer.
fn mount_of(list: &Value, target: &str) -> Value {
    list["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["target"] == target)
        .unwrap_or_else(|| panic!("no mount at {target}: {list}"))
        .clone()
}

fn paths(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn new_folders_belong_to_puid_and_a_root_owned_one_is_warned_about_and_fixed(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let media = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    standard_variables(&app, media.path()).await;
    let name = unique("apps-ls");
    let dir = stacks_dir().join(&name);
    // Pre-created by root (this test runs as root, like Docker would have made it).
    std::fs::create_dir_all(dir.join("data/sub")).unwrap();
    std::fs::write(dir.join("data/sub/file"), "x").unwrap();
    assert_eq!(owner(&dir.join("data")).0, 0);

    let (s, v) = app
        .post_yaml("/api/v1/services", &linuxserver(&name, outside.path()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, report) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::OK, "{report}");

    // ./config did not exist: created 1234:2345, mode 0777 & !027 = 0750 (Docker: root 0755).
    assert_eq!(owner(&dir.join("config")), (1234, 2345, 0o750));
    // The container sees the standard environment.
    let c = service_containers(&name);
    let env = env_of(&c[0]);
    for want in ["TZ=Europe/Berlin", "PUID=1234", "PGID=2345", "UMASK=027"] {
        assert!(env.iter().any(|e| e == want), "{want} not in {env:?}");
    }
    // Only the root-owned writable folder under the data root is warned about (not the
    // read-only media mount, nor the path outside every root).
    let w = report["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{report}");
    assert_eq!(w[0]["kind"], "bind_owner_mismatch");
    assert_eq!(w[0]["path"], dir.join("data").display().to_string());
    assert_eq!(
        (w[0]["owner"].as_str(), w[0]["expected"].as_str()),
        (Some("0:0"), Some("1234:2345"))
    );
    assert_eq!(w[0]["from"], "PUID");
    assert!(
        w[0]["message"].as_str().unwrap().contains("/permissions"),
        "{w:?}"
    );

    // The service page's mounts: host path, mode, owner, existence, and the size measured in
    // the background (null and `measuring` at first).
    std::fs::write(dir.join("config/app.conf"), vec![b'x'; 4096]).unwrap();
    std::os::unix::fs::chown(dir.join("config/app.conf"), Some(1234), Some(2345)).unwrap();
    let (s, m) = app.get(&format!("/api/v1/services/{name}/mounts")).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let config = mount_of(&m, "/config");
    assert_eq!(config["kind"], "bind");
    assert_eq!(
        config["host_path"],
        dir.join("config").display().to_string()
    );
    assert_eq!(
        (config["owner"].as_str(), config["mode"].as_str()),
        (Some("1234:2345"), Some("0750"))
    );
    assert_eq!(
        (config["exists"].as_bool(), config["read_only"].as_bool()),
        (Some(true), Some(false))
    );
    let media_mount = mount_of(&m, "/media");
    assert_eq!(media_mount["read_only"], true);
    let size = eventually(
        std::time::Duration::from_secs(10),
        "the size of /config",
        || async {
            let (_, m) = app.get(&format!("/api/v1/services/{name}/mounts")).await;
            let c = mount_of(&m, "/config");
            c["size_bytes"].as_u64()
        },
    )
    .await;
    assert_eq!(size, 4096, "measured in the background");

    // Dry run: lists the change, changes nothing, audits nothing.
    let (s, plan) = app
        .post(&format!("/api/v1/services/{name}/permissions"))
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["applied"], false);
    assert_eq!(
        paths(&plan["changes"]),
        [dir.join("data").display().to_string()]
    );
    assert_eq!(
        plan["changes"][0]["entries"], 3,
        "data, data/sub, data/sub/file: {plan}"
    );
    assert_eq!(plan["changes"][0]["to"], "1234:2345");
    let skipped: Vec<(String, String)> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p == &media.path().display().to_string() && r.contains("read-only")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p == &outside.path().display().to_string() && r.contains("outside")),
        "{skipped:?}"
    );
    assert_eq!(
        owner(&dir.join("data/sub/file")).0,
        0,
        "a dry run changes nothing"
    );
    assert!(audit_rows(&pool, "service.permissions").await.is_empty());

    // The real run: everything under data is the member's, audited.
    let (s, plan) = app
        .post(&format!("/api/v1/services/{name}/permissions?apply=true"))
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["applied"], true);
    for p in ["data", "data/sub", "data/sub/file"] {
        let (u, g, _) = owner(&dir.join(p));
        assert_eq!((u, g), (1234, 2345), "{p}");
    }
    assert_eq!(
        owner(outside.path()).0,
        0,
        "outside the roots nothing changes"
    );
    assert_eq!(audit_rows(&pool, "service.permissions").await.len(), 1);
    // Nothing left to fix or warn about.
    let (_, plan) = app
        .post(&format!("/api/v1/services/{name}/permissions"))
        .await;
    assert_eq!(plan["changes"], json!([]), "{plan}");
    let (s, report) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["warnings"], json!([]), "{report}");

    app.cleanup(&name).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "../migrations")]
async fn without_root_the_helper_container_changes_owners(pool: sqlx::PgPool) {
    let app = TestApp::new_with(pool.clone(), |s| s.chown_via_helper = true).await;
    let media = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    standard_variables(&app, media.path()).await;
    let name = unique("apps-helper");
    let dir = stacks_dir().join(&name);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/file"), "x").unwrap();

    let (s, v) = app
        .post_yaml("/api/v1/services", &linuxserver(&name, outside.path()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, report) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        owner(&dir.join("config")),
        (1234, 2345, 0o750),
        "chowned by the helper"
    );
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1, "{report}");

    let (s, plan) = app
        .post(&format!("/api/v1/services/{name}/permissions?apply=true"))
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["applied"], true, "{plan}");
    let (u, g, _) = owner(&dir.join("data/file"));
    assert_eq!((u, g), (1234, 2345));
    // The helper containers are gone.
    let left = docker(&["ps", "-aq", "--filter", "label=io.sdmd.helper"]);
    assert!(left.trim().is_empty(), "helpers left: {left}");

    app.cleanup(&name).await;
    let _ = std::fs::remove_dir_all(&dir);
}
