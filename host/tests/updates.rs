//! Safe updates against the real registry and engine: checks without pulling, updates that keep
//! config and data, rollback when the new image fails, and dependency order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

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

#[test]
fn check_update_and_rollback_on_a_real_registry() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let name = unique("upd");
        let repo = format!("sdmdtest/{name}/app");
        let image = format!("{REGISTRY}/{repo}:latest");
        build_http_image(&image, "v1", "");
        let port = free_port();
        assert_eq!(
            app.post_yaml("/api/v1/services", &web_yaml(&name, &image, port, ""))
                .await
                .0,
            StatusCode::CREATED
        );
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;
        eventually(Duration::from_secs(10), "v1", || async {
            http_get(port).await.filter(|b| b.trim() == "v1")
        })
        .await;
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
        app.state
            .registry
            .invalidate(&sdmd::registry::ImageRef::parse(&image).unwrap())
            .await;
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
        app.state
            .registry
            .invalidate(&sdmd::registry::ImageRef::parse(&image).unwrap())
            .await;
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
