//! Secrets and configs on a single engine, as docker compose delivers them: `file:` objects
//! bind-mounted read-only, `environment:`/`content:` objects (and files with uid/gid/mode) copied
//! into the container before it starts; their values never shown by the API or put in labels.
//! The docker-compose 1.29 parity of file secrets is in the parity corpus
//! (`fixtures/compose-parity/mariadb-secrets-configs`, `postgres-secrets-targets`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

const PW: &str = "pw-in-a-file-7781";
const TOKEN: &str = "token-from-env-5521";
const CNF_PASS: &str = "cnf-pass-9034";

fn compose(name: &str) -> String {
    format!(
        r#"name: {name}
services:
  app:
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    secrets:
      - db_pw
      - source: db_pw
        target: shaped
        uid: "1000"
        gid: "1001"
        mode: 0440
      - api_token
    configs:
      - source: app_conf
        target: /etc/app.conf
      - inline
secrets:
  db_pw:
    file: ./secrets/db_pw.txt
  api_token:
    environment: API_TOKEN
configs:
  app_conf:
    file: ./app.conf
  inline:
    content: "user=app\npass=${{CNF_PASS}}\n"
    x-note: kept
"#
    )
}

/// `ls -ln` of a path in the container: (mode string, uid, gid).
fn owner(container: &str, path: &str) -> (String, String, String) {
    let out = docker(&["exec", container, "ls", "-ln", path]);
    let f: Vec<&str> = out.split_whitespace().collect();
    (f[0].to_owned(), f[2].to_owned(), f[3].to_owned())
}

#[sqlx::test(migrations = "../migrations")]
async fn secrets_and_configs_reach_the_container_as_compose_delivers_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("objects");
    let doc = compose(&name);
    let env = format!("API_TOKEN={TOKEN}\nCNF_PASS={CNF_PASS}\n");
    let (s, v) = app
        .post_multipart(
            "/api/v1/services",
            &[
                ("compose", &doc),
                (".env", &env),
                ("secrets/db_pw.txt", PW),
                ("app.conf", "listen 80\n"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for secret in [PW, TOKEN, CNF_PASS] {
        assert!(!v.to_string().contains(secret), "{secret} shown: {v}");
    }
    assert_eq!(
        v["definition"]["configs"]["inline"]["content"], "********",
        "content reading the sealed .env is masked: {v}"
    );
    let (_, files) = app.get(&format!("/api/v1/services/{name}/files")).await;
    let sealed = |p: &str| {
        files
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .map(|f| f["sealed"].clone())
    };
    assert_eq!(sealed("secrets/db_pw.txt"), Some(json!(true)), "{files}");
    assert_eq!(sealed("app.conf"), Some(json!(false)), "{files}");

    // The export is the document as written; the resolved view masks and keeps x-*.
    let (_, yaml) = app.get(&format!("/api/v1/services/{name}/compose")).await;
    let yaml = yaml.as_str().unwrap();
    assert_eq!(
        sdmd::spec::yaml_document(yaml.as_bytes()).unwrap(),
        sdmd::spec::yaml_document(doc.as_bytes()).unwrap(),
        "{yaml}"
    );
    assert!(
        yaml.contains("mode: 288"),
        "0440 is octal, as compose reads it: {yaml}"
    );
    let (_, resolved) = app
        .get(&format!("/api/v1/services/{name}/compose?resolved=true"))
        .await;
    let resolved = resolved.as_str().unwrap();
    for secret in [PW, TOKEN, CNF_PASS] {
        assert!(!resolved.contains(secret), "{resolved}");
    }
    let back = sdmd::spec::yaml_document(resolved.as_bytes()).unwrap();
    assert_eq!(back["configs"]["inline"]["x-note"], "kept", "{resolved}");
    assert_eq!(back["services"]["app"]["secrets"][1]["mode"], 0o440);

    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    let c = format!("{name}-app");
    let i = inspect(&c);
    let dir = stacks_dir().join(&name);
    let mut mounts: Vec<(String, String, bool)> = i["HostConfig"]["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["Type"], "bind", "{m}");
            (
                m["Source"].as_str().unwrap().to_owned(),
                m["Target"].as_str().unwrap().to_owned(),
                m["ReadOnly"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    mounts.sort();
    assert_eq!(
        mounts,
        vec![
            (
                dir.join("app.conf").display().to_string(),
                "/etc/app.conf".to_owned(),
                true
            ),
            (
                dir.join("secrets/db_pw.txt").display().to_string(),
                "/run/secrets/db_pw".to_owned(),
                true
            ),
        ],
        "file objects without uid/gid/mode are read-only bind mounts"
    );
    for secret in [PW, TOKEN, CNF_PASS] {
        assert!(
            !i.to_string().contains(secret),
            "{secret} in docker inspect (labels, env)"
        );
    }
    assert_eq!(docker(&["exec", &c, "cat", "/run/secrets/db_pw"]), PW);
    assert_eq!(docker(&["exec", &c, "cat", "/etc/app.conf"]), "listen 80\n");
    // Copied: the file with uid/gid/mode, the environment secret, the inline config.
    assert_eq!(docker(&["exec", &c, "cat", "/run/secrets/shaped"]), PW);
    assert_eq!(
        owner(&c, "/run/secrets/shaped"),
        ("-r--r-----".into(), "1000".into(), "1001".into())
    );
    assert_eq!(
        docker(&["exec", &c, "cat", "/run/secrets/api_token"]),
        TOKEN
    );
    assert_eq!(
        owner(&c, "/run/secrets/api_token"),
        ("-r--r--r--".into(), "0".into(), "0".into()),
        "compose v2's default mode 0444, owned by root"
    );
    assert_eq!(
        docker(&["exec", &c, "cat", "/inline"]),
        format!("user=app\npass={CNF_PASS}\n")
    );

    // Another value for the variable recreates the member with it; nothing else changes.
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["unchanged"], json!(["app"]), "{v}");
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/services/{name}/files/.env"),
            Some((
                "text/plain",
                format!("API_TOKEN=rotated-1\nCNF_PASS={CNF_PASS}\n"),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(v["recreated"], json!(["app"]), "{v}");
    assert_eq!(
        docker(&["exec", &c, "cat", "/run/secrets/api_token"]),
        "rotated-1"
    );

    app.cleanup(&name).await;
    std::fs::remove_dir_all(&dir).ok();
}

async fn refused(app: &TestApp, doc: &str, files: &[(&str, &str)], field: &str, says: &str) {
    let mut parts = vec![("compose", doc)];
    parts.extend_from_slice(files);
    let (s, v) = app.post_multipart("/api/v1/services", &parts).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
    let details: &Vec<Value> = v["details"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d["field"] == field && d["message"].as_str().unwrap().contains(says)),
        "{field} / {says}: {v}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_name_the_field_and_store_nothing(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("objbad");
    let member = |extra: &str| {
        let ext = if extra.contains("[ext]") {
            "  ext:\n    external: true\n"
        } else {
            ""
        };
        format!(
            "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n{extra}secrets:\n  pw:\n    file: ./pw.txt\n{ext}  env:\n    environment: NOT_SET_ANYWHERE\n"
        )
    };
    let pw = [("pw.txt", "x")];
    refused(
        &app,
        &member("    secrets: [ext]\n"),
        &pw,
        "secrets.ext.external",
        "Swarm",
    )
    .await;
    refused(
        &app,
        &member("    secrets: [nope]\n"),
        &pw,
        "services.app.secrets[0]",
        "not declared",
    )
    .await;
    refused(
        &app,
        &member("    secrets: [pw]\n"),
        &[],
        "secrets.pw.file",
        "not among the service's files",
    )
    .await;
    refused(
        &app,
        &member("    secrets: [env]\n"),
        &pw,
        "secrets.env.environment",
        "NOT_SET_ANYWHERE",
    )
    .await;
    refused(
        &app,
        &member("    read_only: true\n    secrets: [{source: pw, mode: 0400}]\n"),
        &pw,
        "services.app.secrets[0]",
        "read_only",
    )
    .await;
    refused(
        &app,
        &member("    secrets: [{source: pw, uid: me}]\n"),
        &pw,
        "services.app.secrets[0].uid",
        "numeric",
    )
    .await;
    refused(
        &app,
        &member("    volumes: ['/tmp:/run/secrets/pw']\n    secrets: [pw]\n"),
        &pw,
        "services.app.secrets[0]",
        "already used",
    )
    .await;
    let (s, v) = app.get(&format!("/api/v1/services/{name}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored: {v}");
}

#[sqlx::test(migrations = "../migrations")]
async fn adopt_names_the_containers_it_shares_volumes_and_namespaces_with(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let donor = unique("objdonor");
    let name = unique("objjoin");
    let run = |args: &[&str]| {
        let mut a = vec!["run", "-d", "--init", "--label", "sdmd.test=1"];
        a.extend_from_slice(args);
        a.extend(["local/busybox:1", "sleep", "300"]);
        docker(&a);
    };
    run(&["--name", &donor, "--ipc", "shareable", "-v", "/shared"]);
    run(&[
        "--name",
        &name,
        "--ipc",
        &format!("container:{donor}"),
        "--pid",
        &format!("container:{donor}"),
        "--volumes-from",
        &format!("{donor}:ro"),
    ]);
    // The engine records the donor by id; adoption must name it (ids change on a recreate).
    let hc = &inspect(&name)["HostConfig"];
    assert!(
        hc["IpcMode"].as_str().unwrap().len() > "container:".len() + 12,
        "{hc}"
    );
    eventually(
        std::time::Duration::from_secs(10),
        "the container is listed",
        || async { app.listed(&name).await },
    )
    .await;
    let (s, v) = app.post(&format!("/api/v1/services/{name}/adopt")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let member = v["definition"]["services"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap();
    assert_eq!(member["ipc"], format!("container:{donor}"), "{member}");
    assert_eq!(member["pid"], format!("container:{donor}"), "{member}");
    assert_eq!(
        member["volumes_from"],
        json!([format!("container:{donor}:ro")]),
        "{member}"
    );
    app.cleanup(&name).await;
    docker(&["rm", "-f", "-v", &name, &donor]);
}
