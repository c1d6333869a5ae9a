//! The app in-process: `AppState` on a test database and the real engine, its router, and an API
//! token every request carries (the auth gate protects every `/api/v1` route).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sdmd::docker::Docker;
use sdmd::state::AppState;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

use super::docker::{remove_service_containers, stacks_dir, sweep_leftovers};
use super::http::{multipart, send};

/// The app under test with its state.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    /// An API token every request carries (the auth gate protects every `/api/v1` route).
    pub token: String,
}

impl TestApp {
    /// The app on `pool` against the real engine, with its watcher connected.
    pub async fn new(pool: PgPool) -> Self {
        Self::with_docker(pool, Docker::new(None), true).await
    }

    /// The app on `pool` against the real engine, its state changed by `change` first.
    pub async fn new_with(pool: PgPool, change: impl FnOnce(&mut AppState)) -> Self {
        let app = Self::with_docker(pool, Docker::new(None), true).await;
        let mut state = app.state.clone();
        change(&mut state);
        Self::serving(state).await
    }

    /// The app with a given Docker handle; waits for the watcher only when asked.
    pub async fn with_docker(pool: PgPool, docker: Docker, wait_connected: bool) -> Self {
        sdmd::server::init_tracing("text");
        sweep_leftovers();
        let mut state = AppState::new(pool, docker);
        // One stacks directory per test binary, under the system temp dir (absolute, like serve's).
        state.stacks_dir = std::sync::Arc::new(stacks_dir());
        // Short health gates keep the suite fast; the logic is the same as with the defaults.
        state.gate = sdmd::updates::GateSettings {
            health_timeout: Duration::from_secs(60),
            stable_for: Duration::from_secs(2),
        };
        state.spawn_watcher();
        if wait_connected {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !state.live.connected() {
                assert!(
                    Instant::now() < deadline,
                    "the docker watcher did not connect within 10 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Self::serving(state).await
    }

    /// The app without the engine (no watcher, no sweep; Docker is never contacted), its plugin
    /// store compiling into the shared cache: for the plugin store and other database-only APIs.
    pub async fn without_docker(pool: PgPool) -> Self {
        let state = AppState::new(pool, Docker::new(None));
        state.plugins.set_cache_dir(super::plugins::cache_dir());
        Self::serving(state).await
    }

    /// The router over `state` and a fresh API token.
    async fn serving(state: AppState) -> Self {
        let router = sdmd::api::app(state.clone());
        let token = sdmd::auth::tokens::create(
            &state.db,
            &sdmd::db::audit::AuditContext::system(),
            // Unique: several apps (replicas) may share one database.
            &format!(
                "test-harness-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            None,
        )
        .await
        .expect("creating the harness API token")
        .secret;
        Self {
            state,
            router,
            token,
        }
    }

    /// Sends a request and returns the status and the JSON body (`Null` when empty, a string
    /// when not JSON).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<(&str, String)>,
    ) -> (StatusCode, Value) {
        match body {
            Some((ct, b)) => self.send(method, uri, ct, b.into_bytes()).await,
            None => {
                let req = Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("authorization", format!("Bearer {}", self.token))
                    .body(Body::empty())
                    .unwrap();
                let r = send(&self.router, req).await;
                (r.status, r.body)
            }
        }
    }

    /// Sends `body` as `content_type`.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let r = send(&self.router, req).await;
        (r.status, r.body)
    }

    /// Forgets the registry's cached answer for `image`, so the next check asks the registry.
    pub async fn forget_registry_answer(&self, image: &str) {
        self.state
            .registry
            .invalidate(&sdmd::registry::ImageRef::parse(image).unwrap())
            .await;
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::POST, uri, None).await
    }

    pub async fn post_yaml(&self, uri: &str, yaml: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            uri,
            Some(("application/yaml", yaml.to_owned())),
        )
        .await
    }

    pub async fn put_yaml(&self, uri: &str, yaml: &str) -> (StatusCode, Value) {
        self.call(
            Method::PUT,
            uri,
            Some(("application/yaml", yaml.to_owned())),
        )
        .await
    }

    /// `DELETE /api/v1/services/{name}`, with `?volumes=true` when `volumes`.
    pub async fn delete_service(&self, name: &str, volumes: bool) -> (StatusCode, Value) {
        let q = if volumes { "?volumes=true" } else { "" };
        self.call(Method::DELETE, &format!("/api/v1/services/{name}{q}"), None)
            .await
    }

    /// POSTs `multipart/form-data` with one part per (name, content): `compose`, `name` and
    /// project files named by their path.
    pub async fn post_multipart(&self, uri: &str, parts: &[(&str, &str)]) -> (StatusCode, Value) {
        let (ct, body) = multipart(parts);
        self.call(Method::POST, uri, Some((&ct, body))).await
    }

    pub async fn post_json(&self, uri: &str, json: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, uri, json.clone()).await
    }

    /// Sends `json` with `method`.
    pub async fn json(&self, method: Method, uri: &str, json: Value) -> (StatusCode, Value) {
        self.call(method, uri, Some(("application/json", json.to_string())))
            .await
    }

    /// Uploads the guest plugin `name` from `plugins/dist` (`POST /api/v1/plugins`).
    pub async fn upload_plugin(&self, name: &str) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            "/api/v1/plugins",
            "application/wasm",
            super::plugins::wasm(name).to_vec(),
        )
        .await
    }

    /// Sends a request and returns the raw response (for streams).
    pub async fn raw(&self, mut req: Request<Body>) -> axum::response::Response {
        if !req.headers().contains_key("authorization") {
            let bearer = format!("Bearer {}", self.token).parse().unwrap();
            req.headers_mut().insert("authorization", bearer);
        }
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Asserts success and returns the body.
    pub async fn ok(&self, method: Method, uri: &str) -> Value {
        let (s, v) = self.call(method.clone(), uri, None).await;
        assert!(s.is_success(), "{method} {uri} answered {s}: {v}");
        v
    }

    /// The service from the list, if present.
    pub async fn listed(&self, name: &str) -> Option<Value> {
        let (s, v) = self.get("/api/v1/services").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
    }

    /// The audit log's actions, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        super::db::audit_actions(&self.state.db).await
    }

    /// Serves the router on a free local port (with the peer address); returns its URL.
    pub async fn serve(&self) -> String {
        format!("http://{}", super::net::serve(self.router.clone()).await)
    }

    /// Deletes the service and its volumes (best effort) — call at the end of a test.
    pub async fn cleanup(&self, name: &str) {
        let (s, v) = self.delete_service(name, true).await;
        if !(s.is_success() || s == StatusCode::NOT_FOUND) {
            eprintln!("cleanup of {name} answered {s}: {v}");
        }
        remove_service_containers(name);
    }
}
