//! App templates and shared roots (issue 13, "App templates" and "Standard folders"), against
//! real PostgreSQL, the real engine and a real HTTP server serving catalogs: Portainer v2, CasaOS
//! and Yacht fixtures (written in each format's documented shape) become services that deploy
//! with their volumes in the standard folders; catalogs that time out, are too large or are
//! malformed are reported with an error naming them (and the template and field); bad input is
//! a 422 that changes nothing. Shared roots are variables, and the folder picker lists only the
//! data root and those roots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use support::db::audit_rows;
use support::*;

const PORTAINER: &str = include_str!("fixtures/templates/portainer.json");
const CASAOS: &str = include_str!("fixtures/templates/casaos.yml");
const YACHT: &str = include_str!("fixtures/templates/yacht.json");
/// The images the fixtures name: the test image under those names.
const IMAGES: [&str; 3] = [
    "sdmd-tpl/echo-board:1",
    "sdmd-tpl/syncbox:latest",
    "sdmd-tpl/media-shelf:1",
];

/// Serves the fixtures, a catalog that answers too late, one too large and one malformed.
async fn catalog_server() -> String {
    let router = axum::Router::new()
        .route("/portainer.json", get(|| async { PORTAINER }))
        .route("/casaos.yml", get(|| async { CASAOS }))
        .route("/yacht.json", get(|| async { YACHT }))
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                PORTAINER
            }),
        )
        .route(
            "/big.json",
            get(|| async { format!("[{}]", " ".repeat(3 * 1024 * 1024)) }),
        )
        .route(
            "/broken.json",
            get(|| async {
                r#"{"version": "2", "templates": [{"type": 1, "title": "No Image", "description": "x"}]}"#
            }),
        );
    format!("http://{}", net::serve(router).await)
}

fn source<'a>(catalog: &'a Value, url: &str) -> &'a Value {
    catalog["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == url)
        .unwrap_or_else(|| panic!("{url} is not among the sources: {catalog}"))
}

fn template<'a>(catalog: &'a Value, title: &str) -> &'a Value {
    catalog["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == title)
        .unwrap_or_else(|| panic!("no template {title}: {catalog}"))
}

/// The mount of a container (`docker inspect`) at `dest`.
fn mount_at(info: &Value, dest: &str) -> Value {
    let mounts = info["Mounts"].as_array().unwrap();
    mounts
        .iter()
        .find(|m| m["Destination"] == dest)
        .unwrap_or_else(|| panic!("no mount at {dest}: {mounts:?}"))
        .clone()
}

fn fields(v: &Value) -> Vec<String> {
    v["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| p["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrations = "../migrations")]
async fn catalogs_merge_with_each_failure_named_and_bad_input_changes_nothing(pool: sqlx::PgPool) {
    let app = TestApp::without_docker(pool.clone()).await;
    let base = catalog_server().await;

    // Offline: the bundled catalog alone.
    let (s, c) = app.get("/api/v1/templates").await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["sources"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(source(&c, "bundled")["error"], Value::Null);
    let whoami = template(&c, "Whoami");
    assert_eq!(whoami["id"], "bundled.whoami");
    assert_eq!(whoami["format"], "portainer_v2");
    let verbose = whoami["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "VERBOSE")
        .unwrap();
    assert_eq!(verbose["choices"].as_array().unwrap().len(), 2, "{verbose}");
    assert_eq!(verbose["default"], "false");

    // Bad source lists: 422 naming each, nothing stored, nothing audited.
    for (body, want) in [
        (json!(["ftp://example.com/t.json"]), "sources[0]"),
        (json!(["not a url"]), "sources[0]"),
        (
            json!([format!("{base}/yacht.json"), format!("{base}/yacht.json")]),
            "sources[1]",
        ),
        (
            json!([format!("https://e.com/{}", "a".repeat(2100))]),
            "sources[0]",
        ),
    ] {
        let (s, v) = app
            .json(
                Method::PUT,
                "/api/v1/templates/sources",
                json!({"sources": body}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["code"], "validation_failed");
        assert_eq!(fields(&v), [want], "{v}");
    }
    let (_, v) = app.get("/api/v1/templates/sources").await;
    assert_eq!(v, json!({"sources": []}));
    assert!(audit_rows(&pool, "templates.sources.set").await.is_empty());

    let urls: Vec<String> = [
        "portainer.json",
        "casaos.yml",
        "yacht.json",
        "slow.json",
        "big.json",
        "broken.json",
    ]
    .iter()
    .map(|p| format!("{base}/{p}"))
    .collect();
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/templates/sources",
            json!({"sources": urls}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sources"], json!(urls));
    assert_eq!(audit_rows(&pool, "templates.sources.set").await.len(), 1);

    let started = std::time::Instant::now();
    let (s, c) = app.get("/api/v1/templates").await;
    assert_eq!(s, StatusCode::OK, "{c}");
    // Catalogs are fetched concurrently: the slow one costs its timeout once, not per catalog.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    for (i, url) in urls.iter().take(3).enumerate() {
        let st = source(&c, url);
        assert_eq!(st["error"], Value::Null, "{st}");
        assert_eq!(st["prefix"], format!("s{}", i + 1));
    }
    assert_eq!(source(&c, &urls[0])["templates"], 2);
    let slow = source(&c, &urls[3])["error"].as_str().unwrap().to_owned();
    assert!(slow.contains("5 s"), "{slow}");
    let big = source(&c, &urls[4])["error"].as_str().unwrap().to_owned();
    assert!(big.contains("2 MiB"), "{big}");
    let broken = source(&c, &urls[5])["error"].as_str().unwrap().to_owned();
    assert!(
        broken.contains("No Image") && broken.contains("image"),
        "the error names the template and the field: {broken}"
    );

    let echo = template(&c, "Echo Board");
    assert_eq!(
        (echo["id"].as_str(), echo["format"].as_str()),
        (Some("s1.echo-board"), Some("portainer_v2"))
    );
    assert_eq!(echo["source"], urls[0]);
    let names: Vec<&str> = echo["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["MODE", "ADMIN_USER"], "a preset is not asked");
    let sync = template(&c, "Syncbox");
    assert_eq!(
        (sync["format"].as_str(), sync["description"].as_str()),
        (Some("casaos"), Some("Continuous file synchronisation"))
    );
    assert_eq!(sync["categories"], json!(["Backup"]));
    assert_eq!(template(&c, "Media Shelf")["format"], "yacht");

    // Instantiate without create: the definition only, nothing stored.
    let (s, v) = app
        .post_json(
            "/api/v1/templates/s1.echo-board/instantiate",
            &json!({"name": "echo-preview", "variables": {"MODE": "dev"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let def = v["definition"].as_str().unwrap();
    assert!(def.contains("MODE: dev"), "{def}");
    assert!(def.contains("${APPDATA}/data:/data"), "{def}");
    assert!(v.get("service").is_none(), "{v}");
    assert!(
        audit_rows(&pool, "service.create").await.is_empty(),
        "nothing stored"
    );

    // A template that uses a shared root not added yet: the preview says so, creating is a 422
    // naming it (not an empty bind source).
    let (s, v) = app
        .post_json(
            "/api/v1/templates/bundled.jellyfin/instantiate",
            &json!({"name": "jf"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["warnings"][0]["field"], "services.jf.volumes[1]", "{v}");
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("${MEDIA}"),
        "{v}"
    );
    let (s, v) = app
        .post_json(
            "/api/v1/templates/bundled.jellyfin/instantiate?create=true",
            &json!({"name": "jf"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("Settings → Storage"), "{v}");

    // Bad values and ids.
    let (s, v) = app
        .post_json(
            "/api/v1/templates/s1.echo-board/instantiate",
            &json!({"name": "echo", "variables": {"MODE": "chaos", "NOPE": "1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["variables.NOPE", "variables.MODE"], "{v}");
    let (s, v) = app
        .post_json(
            "/api/v1/templates/s1.stack-from-git/instantiate",
            &json!({"name": "git"}),
        )
        .await;
    // A repository stack whose repository does not answer (nothing listens on port 9).
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(v["code"], "template_source_unavailable");
    assert!(
        v["message"].as_str().unwrap().contains("git clone failed"),
        "{v}"
    );
    let (s, v) = app
        .post_json(
            "/api/v1/templates/s1.nothing/instantiate",
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("template_not_found")),
        "{v}"
    );
    let (s, v) = app
        .post_json(
            "/api/v1/templates/s6.no-image/instantiate",
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(v["code"], "template_source_unavailable");
    assert_eq!(v["details"]["source"], urls[5]);
    let (s, v) = app
        .post_json(
            "/api/v1/templates/bundled.whoami/instantiate",
            &json!({"name": "Bad Name!"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["name"], "{v}");
}

#[sqlx::test(migrations = "../migrations")]
async fn portainer_casaos_and_yacht_templates_become_services_that_deploy(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    for image in IMAGES {
        docker(&["tag", "local/busybox:1", image]);
    }
    let base = catalog_server().await;
    let media = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/settings/roots",
            json!({"roots": {"MEDIA": media.path(), "DOWNLOADS": downloads.path()}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let urls: Vec<String> = ["portainer.json", "casaos.yml", "yacht.json"]
        .iter()
        .map(|p| format!("{base}/{p}"))
        .collect();
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/templates/sources",
            json!({"sources": urls}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let echo = unique("tpl-echo");
    let sync = unique("tpl-sync");
    let shelf = unique("tpl-shelf");
    let made = [
        (
            "s1.echo-board",
            &echo,
            json!({"MODE": "dev", "ADMIN_USER": "r$oot"}),
        ),
        ("s2.syncbox", &sync, json!({})),
        ("s3.media-shelf", &shelf, json!({})),
    ];
    for (id, name, vars) in &made {
        let (s, v) = app
            .post_json(
                &format!("/api/v1/templates/{id}/instantiate?create=true"),
                &json!({"name": name, "variables": vars}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{id}: {v}");
        assert_eq!(v["service"]["name"], **name, "{v}");
    }
    // Independent deploys, in parallel.
    let deploys = made.iter().map(|(_, name, _)| {
        let app = &app;
        async move {
            (
                name,
                app.post(&format!("/api/v1/services/{name}/deploy")).await,
            )
        }
    });
    for (name, (s, v)) in futures_util::future::join_all(deploys).await {
        assert_eq!(s, StatusCode::OK, "{name}: {v}");
    }
    let appdata = stacks_dir();

    // Portainer: the select's value and the literal `$` reach the container; the volume without
    // a bind is in the app's data folder, the `${MEDIA}` one in the shared root, read-only.
    let c = service_containers(&echo);
    assert_eq!(c.len(), 1, "{c:?}");
    let env = env_of(&c[0]);
    for want in ["MODE=dev", "ADMIN_USER=r$oot", "BUILT_IN=yes"] {
        assert!(env.iter().any(|e| e == want), "{want} not in {env:?}");
    }
    let info = inspect(&c[0]);
    assert_eq!(info["State"]["Running"], true, "{}", info["State"]);
    assert_eq!(
        mount_at(&info, "/data")["Source"],
        appdata.join(&echo).join("data").display().to_string()
    );
    assert_eq!(
        mount_at(&info, "/media")["Source"],
        media.path().display().to_string()
    );
    assert_eq!(mount_at(&info, "/media")["RW"], false);

    // CasaOS: `/DATA/AppData/$AppID` is the app's data folder, `/DATA/Downloads` the shared root;
    // `$PUID`/`$TZ` are the standard variables.
    let c = service_containers(&sync);
    let info = inspect(&c[0]);
    let at = |dest: &str| mount_at(&info, dest)["Source"].clone();
    assert_eq!(
        at("/config"),
        appdata.join(&sync).join("config").display().to_string()
    );
    assert_eq!(at("/downloads"), downloads.path().display().to_string());
    let env = env_of(&c[0]);
    assert!(
        env.iter().any(|e| e.starts_with("PUID=") && e.len() > 5),
        "{env:?}"
    );
    assert!(
        env.iter().any(|e| e.starts_with("TZ=") && e.len() > 3),
        "{env:?}"
    );

    // Yacht: `!config/shelf` and `!media` are the standard folders, `!PUID` the variable.
    let c = service_containers(&shelf);
    let info = inspect(&c[0]);
    let at = |dest: &str| mount_at(&info, dest)["Source"].clone();
    assert_eq!(
        at("/config"),
        appdata
            .join(&shelf)
            .join("config")
            .join("shelf")
            .display()
            .to_string()
    );
    assert_eq!(at("/media"), media.path().display().to_string());

    for (_, name, _) in &made {
        app.cleanup(name).await;
    }
    for image in IMAGES {
        docker(&["rmi", image]);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn shared_roots_are_variables_and_bound_the_folder_picker(pool: sqlx::PgPool) {
    let app = TestApp::without_docker(pool.clone()).await;
    let media = tempfile::tempdir().unwrap();
    let media_path = media.path().canonicalize().unwrap();
    std::fs::create_dir_all(media_path.join("films/2024")).unwrap();
    std::fs::create_dir_all(media_path.join("music")).unwrap();
    std::fs::write(media_path.join("readme.txt"), "not a folder").unwrap();
    std::os::unix::fs::symlink("/etc", media_path.join("escape")).unwrap();
    std::os::unix::fs::symlink(media_path.join("music"), media_path.join("tunes")).unwrap();
    let media_s = media_path.display().to_string();

    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/settings/roots",
            json!({"roots": {"MEDIA": format!("{media_s}/"), "NAS": "/mnt/not-mounted-yet"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["roots"][0]["name"], "MEDIA");
    assert_eq!(
        v["roots"][0]["path"], media_s,
        "stored without the trailing slash"
    );
    assert_eq!(v["roots"][0]["exists"], true);
    assert_eq!(v["roots"][1]["exists"], false);
    assert_eq!(v["appdata"], app.state.appdata_dir().display().to_string());
    assert_eq!(audit_rows(&pool, "settings.roots.set").await.len(), 1);

    // A root is a variable (source `root`); a variable cannot take its name, nor it a standard
    // or stored variable's.
    let (_, vars) = app.get("/api/v1/variables").await;
    let m = vars["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "MEDIA")
        .unwrap()
        .clone();
    assert_eq!(
        (m["value"].as_str(), m["source"].as_str()),
        (Some(media_s.as_str()), Some("root"))
    );
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/variables",
            json!({"variables": {"MEDIA": "/x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["variables.MEDIA"]);
    let (s, _) = app
        .json(
            Method::PUT,
            "/api/v1/variables",
            json!({"variables": {"TOKEN": "t"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .json(
            Method::PUT,
            "/api/v1/settings/roots",
            json!({"roots": {"PUID": "/srv", "TOKEN": "/srv", "REL": "srv", "UP": "/srv/../etc", "ALL": "/"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        fields(&v),
        [
            "roots.PUID",
            "roots.TOKEN",
            "roots.REL",
            "roots.UP",
            "roots.ALL"
        ]
    );
    let (_, v) = app.get("/api/v1/settings/roots").await;
    assert_eq!(v["roots"].as_array().unwrap().len(), 2, "unchanged: {v}");
    assert_eq!(audit_rows(&pool, "settings.roots.set").await.len(), 1);

    // The picker: the roots, then folders under them only.
    let (s, v) = app.get("/api/v1/fs/dirs").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let names: Vec<&str> = v["dirs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["APPDATA", "MEDIA", "NAS"]);
    let q = |p: &str| format!("/api/v1/fs/dirs?path={}", urlencode(p));
    let (s, v) = app.get(&q(&media_s)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["root"], "MEDIA");
    let names: Vec<&str> = v["dirs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["films", "music", "tunes"],
        "folders and links that stay under the root, by name"
    );
    let (s, v) = app.get(&q(&format!("{media_s}/films"))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parent"], media_s);
    assert_eq!(v["dirs"][0]["path"], format!("{media_s}/films/2024"));
    for outside in [
        "/etc".to_owned(),
        "/".to_owned(),
        format!("{media_s}/../.."),
        format!("{media_s}/escape"),
        "relative/path".to_owned(),
        format!("{media_s}/missing"),
    ] {
        let (s, v) = app.get(&q(&outside)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{outside}: {v}");
        assert_eq!(fields(&v), ["path"], "{outside}: {v}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn catalog_files_upload_join_the_catalog_and_bad_ones_name_template_and_field(
    pool: sqlx::PgPool,
) {
    let app = TestApp::without_docker(pool.clone()).await;
    let put = |name: &str, ct: &'static str, body: Vec<u8>| {
        let uri = format!("/api/v1/templates/files/{name}");
        let app = &app;
        async move { app.send(Method::PUT, &uri, ct, body).await }
    };

    // The three formats, uploaded as files.
    for (name, ct, body, n) in [
        ("portainer.json", "application/json", PORTAINER, 2),
        ("syncbox.yml", "application/yaml", CASAOS, 1),
        ("yacht.json", "text/plain", YACHT, 1),
    ] {
        let (s, v) = put(name, ct, body.as_bytes().to_vec()).await;
        assert_eq!(s, StatusCode::OK, "{name}: {v}");
        assert_eq!(v, json!({"name": name, "templates": n}));
    }
    let (s, c) = app.get("/api/v1/templates").await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let st = source(&c, "file:portainer.json");
    assert_eq!(
        (st["prefix"].as_str(), st["templates"].as_u64()),
        (Some("file-portainer-json"), Some(2))
    );
    assert_eq!(
        template(&c, "Echo Board")["id"],
        "file-portainer-json.echo-board"
    );
    assert_eq!(template(&c, "Syncbox")["format"], "casaos");
    assert_eq!(template(&c, "Media Shelf")["format"], "yacht");
    let (s, v) = app
        .post_json(
            "/api/v1/templates/file-portainer-json.echo-board/instantiate",
            &json!({"name": "echo", "variables": {"MODE": "dev"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["definition"].as_str().unwrap().contains("MODE: dev"),
        "{v}"
    );
    assert_eq!(audit_rows(&pool, "templates.file.put").await.len(), 3);

    // Malformed, a template without its image, too large, a bad name, a prefix taken: refused,
    // nothing stored.
    let (s, v) = put(
        "broken.json",
        "application/json",
        br#"{"version": "2", "templates": [{"type": 1, "title": "No Image"}]}"#.to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(fields(&v), ["templates[0].image"], "{v}");
    assert!(
        v["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("No Image:"),
        "{v}"
    );
    let (s, v) = put("junk.json", "application/json", b"{not json".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = put("big.json", "application/json", vec![b' '; 3 * 1024 * 1024]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, v) = put(".hidden", "application/json", PORTAINER.as_bytes().to_vec()).await;
    assert_eq!(
        (s, fields(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]),
        "{v}"
    );
    let (s, v) = put(
        "portainer_json",
        "application/json",
        PORTAINER.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the same prefix as portainer.json: {v}"
    );
    let (_, c) = app.get("/api/v1/templates").await;
    assert_eq!(
        c["sources"].as_array().unwrap().len(),
        4,
        "bundled and three files: {c}"
    );
    assert_eq!(audit_rows(&pool, "templates.file.put").await.len(), 3);

    // Removed, and gone from the catalog.
    let (s, _) = app
        .call(Method::DELETE, "/api/v1/templates/files/yacht.json", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .call(Method::DELETE, "/api/v1/templates/files/yacht.json", None)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("template_not_found"))
    );
    let (_, c) = app.get("/api/v1/templates").await;
    assert!(!c.to_string().contains("Media Shelf"), "{c}");
    assert_eq!(audit_rows(&pool, "templates.file.delete").await.len(), 1);
}

/// A bare git repository holding `stacks/web/compose.yml`, ready for git's dumb HTTP protocol.
fn stack_repository(dir: &std::path::Path) -> std::path::PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("stacks/web")).unwrap();
    std::fs::write(
        work.join("stacks/web/compose.yml"),
        "services:\n  web:\n    image: local/busybox:1\n    init: true\n    command: [sleep, '300']\n    labels: {sdmd.test: '1'}\n    environment:\n      GREETING: ${GREETING}\n",
    )
    .unwrap();
    let git = |args: &[&str], cwd: &std::path::Path| {
        let o = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"], &work);
    git(&["add", "."], &work);
    git(&["commit", "-q", "-m", "stack"], &work);
    let bare = dir.join("stacks.git");
    git(
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        dir,
    );
    git(&["update-server-info"], &bare);
    bare
}

#[sqlx::test(migrations = "../migrations")]
async fn a_portainer_repository_stack_is_fetched_with_git_and_deploys(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let bare = stack_repository(tmp.path());
    // The repository over HTTP (git's dumb protocol: plain files) and a catalog naming it.
    let served = bare.clone();
    let files = axum::Router::new().route(
        "/stacks.git/{*path}",
        get(move |axum::extract::Path(p): axum::extract::Path<String>| {
            let f = served.join(&p);
            async move {
                match std::fs::read(&f) {
                    Ok(b) if !p.contains("..") => (StatusCode::OK, b),
                    _ => (StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        }),
    );
    let base = format!("http://{}", net::serve(files).await);
    let catalog = format!(
        r#"{{"version": "2", "templates": [
          {{"type": 3, "title": "Web Stack", "description": "from git",
            "repository": {{"url": "{base}/stacks.git", "stackfile": "stacks/web/compose.yml"}},
            "env": [{{"name": "GREETING", "label": "Greeting"}}]}},
          {{"type": 3, "title": "Missing Repo", "description": "x",
            "repository": {{"url": "{base}/nothing.git", "stackfile": "compose.yml"}}}},
          {{"type": 3, "title": "Missing File", "description": "x",
            "repository": {{"url": "{base}/stacks.git", "stackfile": "none/compose.yml"}}}}]}}"#
    );
    let (s, v) = app
        .send(
            Method::PUT,
            "/api/v1/templates/files/git.json",
            "application/json",
            catalog.into_bytes(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let name = unique("tpl-git");
    let id = "file-git-json.web-stack";
    let (s, v) = app
        .post_json(
            &format!("/api/v1/templates/{id}/instantiate"),
            &json!({"name": name, "variables": {"GREETING": "hi $there"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["definition"]
            .as_str()
            .unwrap()
            .starts_with(&format!("name: {name}\n")),
        "{v}"
    );
    assert_eq!(v["files"][".env"], "GREETING=\"hi \\$there\"\n", "{v}");
    assert_eq!(
        v["warnings"],
        json!([]),
        "GREETING comes from the .env: {v}"
    );

    let (s, v) = app
        .post_json(
            &format!("/api/v1/templates/{id}/instantiate?create=true"),
            &json!({"name": name, "variables": {"GREETING": "hi $there"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, r) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let c = service_containers(&name);
    let env = env_of(&c[0]);
    assert!(
        env.iter().any(|e| e == "GREETING=hi $there"),
        "literal, from the stack's .env: {env:?}"
    );

    // A repository that is not there, a stack file that is not in it: 502 naming the repository.
    for (id, want) in [
        ("file-git-json.missing-repo", "git clone failed"),
        ("file-git-json.missing-file", "none/compose.yml"),
    ] {
        let (s, v) = app
            .post_json(
                &format!("/api/v1/templates/{id}/instantiate"),
                &json!({"name": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_GATEWAY, "{id}: {v}");
        assert_eq!(v["code"], "template_source_unavailable");
        assert!(v["message"].as_str().unwrap().contains(want), "{id}: {v}");
    }
    app.cleanup(&name).await;
}
