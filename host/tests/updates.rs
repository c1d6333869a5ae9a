//! Safe updates against the real registry and engine: checks without pulling, updates that keep
//! config and data, rollback when the new image fails, and dependency order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

/// Lines of the registry's access log that mention `needle`.
fn registry_log_count(needle: &str) -> usize {
    let state = std::env::var("SDMD_TEST_STATE").unwrap_or_else(|_| "/tmp/sdmd-test-env".into());
    let log = std::fs::read_to_string(format!("{state}/registry.log"))
        .expect("the registry access log (started by scripts/test-env.sh) is missing");
    log.lines().filter(|l| l.contains(needle)).count()
}

fn web_yaml(name: &str, image: &str, port: u16, healthcheck: &str) -> String {
    format!(
        r#"
name: {name}
services:
  web:
    image: {image}
    init: true
    ports: ["127.0.0.1:{port}:80"]
    environment: {{GREETING: hi}}
    volumes: ["data:/data"]
    {healthcheck}
volumes:
  data: {{labels: {{sdmd.test: "1"}}}}
"#
    )
}

/// Stores and deploys `web_yaml` for `image` on a free port; returns the port once it serves `body`.
async fn deploy_web(app: &TestApp, name: &str, image: &str, body: &str) -> u16 {
    let port = free_port();
    assert_eq!(
        app.post_yaml("/api/v1/services", &web_yaml(name, image, port, ""))
            .await
            .0,
        StatusCode::CREATED
    );
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    eventually(Duration::from_secs(10), body, || async {
        http_get(port).await.filter(|b| b.trim() == body)
    })
    .await;
    port
}

#[test]
fn check_update_and_rollback_on_a_real_registry() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let name = unique("upd");
        let repo = format!("sdmdtest/{name}/app");
        let image = format!("{REGISTRY}/{repo}:latest");
        build_http_image(&image, "v1", "");
        let port = deploy_web(&app, &name, &image, "v1").await;
        docker(&[
            "exec",
            &format!("{name}-web"),
            "sh",
            "-c",
            "echo kept > /data/state",
        ]);

        // Unchanged tag: a check is one HEAD and no GET; a second check is served from the cache.
        let heads = registry_log_count(&format!("\"HEAD /v2/{repo}/manifests/latest"));
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(v["update_available"], false, "{v}");
        assert_eq!(v["images"][0]["cached"], false);
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(v["images"][0]["cached"], true, "{v}");
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "up_to_date", "{v}");
        assert_eq!(v["pull"]["images"][0]["changed"], false);
        // The access log is written asynchronously; give it a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            registry_log_count(&format!("\"HEAD /v2/{repo}/manifests/latest")),
            heads + 1,
            "one HEAD within the TTL"
        );
        assert_eq!(
            registry_log_count(&format!("\"GET /v2/{repo}/manifests/")),
            0,
            "never a manifest GET when unchanged"
        );

        // v2 under the same tag: the check sees it (a new HEAD after the cache is bypassed by a
        // fresh client state), update serves v2 with the same config and the volume intact.
        build_http_image(&image, "v2", "");
        app.forget_registry_answer(&image).await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(
            (
                v["update_available"].as_bool(),
                v["images"][0]["kind"].as_str()
            ),
            (Some(true), Some("digest")),
            "{v}"
        );
        assert_ne!(
            v["images"][0]["local_digest"],
            v["images"][0]["remote_digest"]
        );
        assert_eq!(app.listed(&name).await.unwrap()["update_available"], true);
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "updated", "{v}");
        assert_eq!(v["members"]["recreated"], json!(["web"]));
        let steps: Vec<&str> = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "check",
                "pull",
                "stop_old",
                "start_new",
                "health_gate",
                "cleanup"
            ]
        );
        assert_eq!(http_get(port).await.unwrap().trim(), "v2");
        assert_eq!(
            docker(&["exec", &format!("{name}-web"), "cat", "/data/state"]).trim(),
            "kept"
        );
        let web = inspect(&format!("{name}-web"));
        assert!(
            web["Config"]["Env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "GREETING=hi")
        );
        assert!(
            docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("name={name}-web-sdmd-old")
            ])
            .trim()
            .is_empty(),
            "old container removed"
        );
        let listed = app.listed(&name).await.unwrap();
        assert_eq!(listed["update_available"], false);
        assert!(listed["last_updated"].is_string());

        // v3 exits at once: the update rolls back and v2 serves again; history says why.
        build_image(
            &image,
            "FROM local/busybox:1\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"echo v3 cannot start: missing config; exit 3\"]\n",
        );
        app.forget_registry_answer(&image).await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "rolled_back", "{v}");
        assert!(v["reason"].as_str().unwrap().contains("web"), "{v}");
        let body = eventually(Duration::from_secs(10), "v2 serving again", || async {
            http_get(port).await.filter(|b| b.trim() == "v2")
        })
        .await;
        assert_eq!(body.trim(), "v2");
        assert_eq!(
            inspect(&format!("{name}-web"))["Name"],
            format!("/{name}-web"),
            "the old container has its name back"
        );
        assert_eq!(
            docker(&["exec", &format!("{name}-web"), "cat", "/data/state"]).trim(),
            "kept"
        );

        let (s, history) = app.get(&format!("/api/v1/services/{name}/updates")).await;
        assert_eq!(s, StatusCode::OK);
        let runs = history.as_array().unwrap();
        let results: Vec<(&str, &str)> = runs
            .iter()
            .map(|r| {
                (
                    r["kind"].as_str().unwrap(),
                    r["result"].as_str().unwrap_or("?"),
                )
            })
            .collect();
        assert_eq!(
            results,
            [
                ("update", "rolled_back"),
                ("update", "updated"),
                ("check", "update_available"),
                ("update", "up_to_date"),
                ("check", "up_to_date"),
                ("check", "up_to_date"),
            ]
        );
        let rolled = &runs[0];
        assert!(
            rolled["log_excerpt"]
                .as_str()
                .unwrap()
                .contains("v3 cannot start"),
            "{rolled}"
        );
        assert!(
            rolled["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["step"] == "rollback" && s["ok"] == true)
        );
        assert_eq!(runs[1]["images"][0]["changed"], true);
        assert!(runs[1]["images"][0]["old_digest"] != runs[1]["images"][0]["new_digest"]);
        let (_, audit) = app
            .get(&format!(
                "/api/v1/audit?target={name}&action=service.update"
            ))
            .await;
        let audit_results: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["result"].as_str().unwrap())
            .collect();
        assert_eq!(audit_results, ["rolled_back", "ok", "ok"]);
        let (s, metrics) = app.get("/metrics").await;
        assert_eq!(s, StatusCode::OK);
        let metrics = metrics.as_str().unwrap();
        for line in [
            "sdmd_updates_total{result=\"updated\"} 1",
            "sdmd_updates_total{result=\"rolled_back\"} 1",
            "sdmd_updates_total{result=\"up_to_date\"} 1",
            "sdmd_rollbacks_total 1",
            "sdmd_docker_up 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "missing `{line}` in:\n{metrics}"
            );
        }
        let hits: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("sdmd_registry_cache_hits_total "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(hits >= 1, "{metrics}");
        app.cleanup(&name).await;
    });
}

#[test]
fn failing_healthcheck_rolls_back_and_dependents_follow_dependency_order() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let name = unique("order");
        let repo = format!("sdmdtest/{name}");
        let db_image = format!("{REGISTRY}/{repo}/db:1");
        let web_image = format!("{REGISTRY}/{repo}/web:1");
        build_http_image(&db_image, "db v1", "");
        build_http_image(&web_image, "web", "");
        let yaml = format!(
            r#"
name: {name}
services:
  web:
    image: {web_image}
    init: true
    depends_on: [db]
  db:
    image: {db_image}
    init: true
    healthcheck:
      test: ["CMD-SHELL", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80 | grep -q db"]
      interval: 1s
      retries: 2
"#
        );
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;

        // db v2: db is recreated first (and must turn healthy), then its dependent web restarts.
        build_http_image(&db_image, "db v2", "");
        let web_before = inspect(&format!("{name}-web"));
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "updated", "{v}");
        assert_eq!(
            (
                v["members"]["recreated"].clone(),
                v["members"]["started"].clone()
            ),
            (json!(["db"]), json!(["web"]))
        );
        let db = inspect(&format!("{name}-db"));
        let web = inspect(&format!("{name}-web"));
        assert_eq!(
            web["Id"], web_before["Id"],
            "web was restarted, not recreated"
        );
        let started = |c: &Value| {
            chrono::DateTime::parse_from_rfc3339(c["State"]["StartedAt"].as_str().unwrap()).unwrap()
        };
        assert!(
            started(&db) < started(&web),
            "db started before its dependent web"
        );
        assert_eq!(db["State"]["Health"]["Status"], "healthy");

        // db v3 serves something else: its health check fails, the update rolls back.
        build_http_image(&db_image, "broken", "");
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "rolled_back", "{v}");
        assert!(v["reason"].as_str().unwrap().contains("unhealthy"), "{v}");
        let db_after = inspect(&format!("{name}-db"));
        assert_eq!(
            db_after["Id"], db["Id"],
            "the previous db container is back"
        );
        eventually(Duration::from_secs(10), "web running again", || async {
            (inspect(&format!("{name}-web"))["State"]["Running"] == true).then_some(())
        })
        .await;
        app.cleanup(&name).await;
    });
}

/// Raw registry calls for building a multi-arch index by hand (the engine here has no buildx).
mod oci {
    use super::REGISTRY;
    use serde_json::{Value, json};
    use sha2::{Digest, Sha256};

    pub const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

    fn url(repo: &str, path: &str) -> String {
        format!("http://{REGISTRY}/v2/{repo}/{path}")
    }

    /// A manifest by tag or digest: its JSON, digest and size.
    pub async fn get(repo: &str, reference: &str) -> (Value, String, usize) {
        let resp = reqwest::Client::new()
            .get(url(repo, &format!("manifests/{reference}")))
            .header("accept", MANIFEST)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let digest = resp.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = resp.bytes().await.unwrap();
        (serde_json::from_slice(&body).unwrap(), digest, body.len())
    }

    /// Stores a blob; returns its digest.
    pub async fn blob(repo: &str, bytes: Vec<u8>) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let c = reqwest::Client::new();
        let resp = c.post(url(repo, "blobs/uploads/")).send().await.unwrap();
        assert_eq!(resp.status(), 202);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("http://{REGISTRY}{location}")
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let resp = c
            .put(format!("{location}{sep}digest={digest}"))
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        digest
    }

    /// Stores a manifest under `reference`; returns its digest and size.
    pub async fn put(
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &Value,
    ) -> (String, usize) {
        let bytes = serde_json::to_vec(body).unwrap();
        let len = bytes.len();
        let resp = reqwest::Client::new()
            .put(url(repo, &format!("manifests/{reference}")))
            .header("content-type", media_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        (
            resp.headers()["docker-content-digest"]
                .to_str()
                .unwrap()
                .to_owned(),
            len,
        )
    }

    /// An arm64 twin of the manifest `amd` (same layers, its own config saying `note`).
    pub async fn arm_twin(repo: &str, amd: &Value, note: &str) -> (String, usize) {
        let config = json!({
            "architecture": "arm64", "variant": "v8", "os": "linux",
            "config": {"Labels": {"note": note}},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        let bytes = serde_json::to_vec(&config).unwrap();
        let size = bytes.len();
        let digest = blob(repo, bytes).await;
        let mut m = amd.clone();
        m["config"]["digest"] = json!(digest);
        m["config"]["size"] = json!(size);
        put(repo, &format!("arm-{note}"), MANIFEST, &m).await
    }

    /// A manifest list of an amd64 and an arm64 manifest, stored under `tag`.
    pub async fn index(repo: &str, tag: &str, amd: (&str, usize), arm: (&str, usize)) -> String {
        let list = json!({
            "schemaVersion": 2,
            "mediaType": LIST,
            "manifests": [
                {"mediaType": MANIFEST, "digest": amd.0, "size": amd.1,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": MANIFEST, "digest": arm.0, "size": arm.1,
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            ],
        });
        put(repo, tag, LIST, &list).await.0
    }
}

#[test]
fn multi_arch_index_compares_this_platforms_manifest() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let name = unique("arch");
        let repo = format!("sdmdtest/{name}/app");
        let image = format!("{REGISTRY}/{repo}:latest");
        let r = sdmd::registry::ImageRef::parse(&image).unwrap();
        // amd64 v1 plus an arm64 twin, as one multi-arch tag.
        build_http_image(&format!("{REGISTRY}/{repo}:amd-v1"), "v1", "");
        let (amd1, amd1_digest, amd1_size) = oci::get(&repo, "amd-v1").await;
        let arm_a = oci::arm_twin(&repo, &amd1, "a").await;
        let index1 = oci::index(
            &repo,
            "latest",
            (&amd1_digest, amd1_size),
            (&arm_a.0, arm_a.1),
        )
        .await;
        let port = deploy_web(&app, &name, &image, "v1").await;
        let check = || async {
            app.state.registry.invalidate(&r).await;
            app.ok(Method::POST, &format!("/api/v1/services/{name}/check"))
                .await
        };
        let gets = || {
            std::thread::sleep(Duration::from_millis(300)); // the access log is written async
            registry_log_count(&format!("\"GET /v2/{repo}/manifests/"))
        };

        // The index we pulled: equal digests, no GET at all.
        let v = check().await;
        assert_eq!(v["update_available"], false, "{v}");
        assert_eq!(v["images"][0]["remote_digest"], index1.as_str());
        assert_eq!(v["images"][0]["local_digest"], index1.as_str(), "{v}");
        let gets_before = gets();

        // Only the arm64 image changed: a new index, but nothing to do on this amd64 host. Two GETs
        // (the index, then our manifest for its config), and none on the next check.
        let arm_b = oci::arm_twin(&repo, &amd1, "b").await;
        let index2 = oci::index(
            &repo,
            "latest",
            (&amd1_digest, amd1_size),
            (&arm_b.0, arm_b.1),
        )
        .await;
        assert_ne!(index1, index2);
        let v = check().await;
        assert_eq!(v["update_available"], false, "{v}");
        assert_eq!(v["images"][0]["remote_digest"], index2.as_str());
        assert_eq!(
            v["images"][0]["platform_digest"],
            amd1_digest.as_str(),
            "{v}"
        );
        assert_eq!(gets(), gets_before + 2, "index + platform manifest");
        let v = check().await;
        assert_eq!(v["update_available"], false, "{v}");
        assert_eq!(gets(), gets_before + 2, "resolved once per index digest");
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "up_to_date", "{v}");

        // amd64 moved to v2: an update, and the update serves it.
        build_http_image(&format!("{REGISTRY}/{repo}:amd-v2"), "v2", "");
        let (_, amd2_digest, amd2_size) = oci::get(&repo, "amd-v2").await;
        oci::index(
            &repo,
            "latest",
            (&amd2_digest, amd2_size),
            (&arm_b.0, arm_b.1),
        )
        .await;
        let v = check().await;
        assert_eq!(v["update_available"], true, "{v}");
        assert_eq!(v["images"][0]["kind"], "digest");
        assert_eq!(
            v["images"][0]["platform_digest"],
            amd2_digest.as_str(),
            "{v}"
        );
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/update"))
            .await;
        assert_eq!(v["result"], "updated", "{v}");
        eventually(Duration::from_secs(10), "v2", || async {
            http_get(port).await.filter(|b| b.trim() == "v2")
        })
        .await;
        app.cleanup(&name).await;
    });
}
