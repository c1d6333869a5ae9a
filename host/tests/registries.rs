//! Private registries: credentials stored sealed, never shown, used for checks and pulls against
//! a real registry that requires a login (127.0.0.1:5001, started by scripts/test-env.sh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::*;

const PRIVATE: &str = "127.0.0.1:5001";
const USER: &str = "sdmdtest";
const PASSWORD: &str = "sdmd-test-password";

fn login_push(reference: &str) {
    let login = support::process::run_with_stdin(
        support::docker::cli().args(["login", PRIVATE, "-u", USER, "--password-stdin"]),
        PASSWORD,
    );
    assert!(
        login.status.success(),
        "docker login to the private test registry failed"
    );
    let pushed = support::docker::cli()
        .args(["push", "-q", reference])
        .status()
        .unwrap();
    docker_ok(&["logout", PRIVATE]);
    assert!(pushed.success(), "push to the private registry failed");
}

/// Builds an image, pushes it to the private registry and forgets the local copy: only a pull
/// with the stored credentials can bring it back.
fn push_private(image: &str) {
    support::docker::build_local(
        image,
        "FROM local/busybox:1\nLABEL sdmd.test=1\nCMD [\"sleep\", \"300\"]\n",
    );
    login_push(image);
    docker(&["rmi", image]);
}

#[test]
fn private_registry_credentials_are_sealed_and_used_for_checks_and_pulls() {
    with_db(|pool| async move {
        let app = TestApp::new(pool.clone()).await;
        let name = unique("private");
        let image = format!("{PRIVATE}/sdmdtest/{name}/app:1");
        // Build locally, push with a CLI login, then forget the local copy: only a pull with the
        // stored credentials can bring it back.
        push_private(&image);

        let yaml = format!("name: {name}\nservices:\n  app:\n    image: {image}\n    init: true\n");
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );

        // Without credentials: the check says why, the deploy cannot pull.
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert!(
            v["images"][0]["error"]
                .as_str()
                .unwrap()
                .contains("refused our credentials"),
            "{v}"
        );
        let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
        assert!(s.is_client_error() || s.is_server_error(), "{s} {v}");

        // Validation, then storing: the password is never echoed and is sealed at rest.
        let put = |body: serde_json::Value| {
            let app = &app;
            async move {
                app.call(
                    Method::PUT,
                    &format!("/api/v1/registries/{PRIVATE}"),
                    Some(("application/json", body.to_string())),
                )
                .await
            }
        };
        let (s, v) = put(json!({"username": " ", "password": ""})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let fields: Vec<&str> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["username", "password"]);
        let (s, v) = put(json!({"username": USER, "password": PASSWORD})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["host"].as_str(), v["username"].as_str()),
            (Some(PRIVATE), Some(USER))
        );
        assert!(!v.to_string().contains(PASSWORD));
        let (_, list) = app.get("/api/v1/registries").await;
        assert!(!list.to_string().contains(PASSWORD));
        assert_eq!(list[0]["host"], PRIVATE);
        let (secret,): (Vec<u8>,) =
            sqlx::query_as("select secret from registry_credentials where host = $1")
                .bind(PRIVATE)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(
            !secret
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "stored in clear"
        );
        let (_, audit) = app.get("/api/v1/audit?action=registry.put").await;
        assert_eq!(audit["entries"][0]["target"], PRIVATE);
        assert!(!audit.to_string().contains(PASSWORD));

        // With credentials: the check reaches the registry and the deploy pulls.
        app.forget_registry_answer(&image).await;
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/check"))
            .await;
        assert_eq!(v["images"][0]["error"], serde_json::Value::Null, "{v}");
        assert!(
            v["images"][0]["remote_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        let v = app
            .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;
        assert_eq!(v["created"], json!(["app"]), "{v}");

        // Forget them.
        let (s, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/registries/{PRIVATE}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, v) = app.get(&format!("/api/v1/registries/{PRIVATE}")).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("registry_not_found"))
        );
        app.cleanup(&name).await;
        docker_ok(&["rmi", &image]);
    });
}

/// Tag lists (a strategy's candidates) use the same auth as checks: stored credentials work, no
/// credentials are refused, and the answer is cached.
#[test]
fn tag_lists_use_the_registry_credentials() {
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let name = unique("tags");
        for tag in ["1.0.0", "1.1.0"] {
            push_private(&format!("{PRIVATE}/sdmdtest/{name}/app:{tag}"));
        }
        let r = sdmd::registry::ImageRef::parse(&format!("{PRIVATE}/sdmdtest/{name}/app:1.0.0"))
            .unwrap();
        let registry = &app.state.registry;
        let refused = registry
            .list_tags(&r, None, std::time::Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, sdmd::registry::RegistryError::Unauthorized(_)),
            "{refused}"
        );
        let creds = sdmd::registry::Credentials {
            username: USER.into(),
            password: PASSWORD.into(),
        };
        let minute = std::time::Duration::from_secs(60);
        let mut tags = registry
            .list_tags(&r, Some(&creds), minute)
            .await
            .unwrap()
            .as_ref()
            .clone();
        tags.sort();
        assert_eq!(tags, ["1.0.0", "1.1.0"]);
        let pages = registry
            .counters
            .tags
            .load(std::sync::atomic::Ordering::Relaxed);
        registry.list_tags(&r, Some(&creds), minute).await.unwrap();
        assert_eq!(
            registry
                .counters
                .tags
                .load(std::sync::atomic::Ordering::Relaxed),
            pages,
            "served from the cache"
        );
    });
}
