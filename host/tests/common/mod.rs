//! Shared test environment: a real PostgreSQL database per test (`#[sqlx::test]`), the real
//! Docker engine, the local registry on 127.0.0.1:5000, and helpers to drive the app in-process.
//! Everything a test creates carries the label `sdmd.test` and a unique name; leftovers of earlier
//! runs are swept once per test binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use sdmd::docker::Docker;
use sdmd::state::AppState;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

/// Debian's CLI: its classic builder works offline (the newer CLI on PATH may lack buildx).
pub const DOCKER: &str = "/usr/bin/docker";
/// The local registry the test environment runs.
pub const REGISTRY: &str = "127.0.0.1:5000";

/// The app under test with its state.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    /// An API token every request carries (the auth gate protects every `/api/v1` route).
    pub token: String,
}

static SWEEP: Once = Once::new();

/// Removes what earlier (crashed) runs left behind: only objects created before this process.
fn sweep_leftovers() {
    SWEEP.call_once(|| {
        preflight();
        // Containers of this process are seconds old; anything older than a minute is a leftover
        // (test binaries run one after another).
        let cutoff = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        for id in docker(&["ps", "-aq", "--filter", "label=sdmd.test"]).lines() {
            let created = docker(&["inspect", "-f", "{{.Created}}", id]);
            if !created.trim().is_empty() && created.trim() < cutoff.as_str() {
                docker_ok(&["rm", "-f", "-v", id]);
            }
        }
        docker_ok(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "label=sdmd.test",
            "--filter",
            "until=1m",
        ]);
        docker_ok(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "label=io.sdmd.service",
            "--filter",
            "until=10m",
        ]);
        docker_ok(&["volume", "prune", "-f", "--filter", "label=sdmd.test"]);
    });
}

/// Fails loudly (never skips) when the real parts are missing.
fn preflight() {
    let info = Command::new(DOCKER)
        .args(["info", "-f", "{{.ServerVersion}}"])
        .output();
    match info {
        Ok(o) if o.status.success() => {}
        _ => {
            panic!("Docker is not reachable: run `bash scripts/test-env.sh` (or `make test`) first")
        }
    }
    let img = Command::new(DOCKER)
        .args(["image", "inspect", "local/busybox:1"])
        .output();
    assert!(
        img.is_ok_and(|o| o.status.success()),
        "the base image local/busybox:1 is missing: run `bash scripts/test-env.sh` first"
    );
}

/// Runs the docker CLI and returns stdout (panics with stderr on failure).
pub fn docker(args: &[&str]) -> String {
    let out = Command::new(DOCKER)
        .args(args)
        .output()
        .expect("running docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the docker CLI, tolerating failure (cleanup).
pub fn docker_ok(args: &[&str]) -> bool {
    Command::new(DOCKER)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Ids of every container (running or not) SDMD labelled as `service`'s.
pub fn service_containers(service: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.sdmd.service={service}"),
    ])
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

/// `docker inspect` of one object as JSON.
pub fn inspect(what: &str) -> Value {
    let v: Value = serde_json::from_str(&docker(&["inspect", what])).expect("inspect JSON");
    v[0].clone()
}

/// A unique DNS-safe name for this test.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("t{}-{prefix}", &id[..8])
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Builds an image from `dockerfile` (its context is empty) and pushes it to the local registry.
pub fn build_image(reference: &str, dockerfile: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let out = Command::new(DOCKER)
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", reference])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    docker(&["push", "-q", reference]);
}

/// Builds an image from `local/busybox:1` that serves `body` over HTTP on port 80 and prints
/// `started <body>` on start, then pushes it to the local registry under `reference`.
pub fn build_http_image(reference: &str, body: &str, extra_dockerfile: &str) {
    build_image(
        reference,
        &format!(
            "FROM local/busybox:1\nRUN mkdir -p /www && echo '{body}' > /www/index.html\n{extra_dockerfile}\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"echo started {body}; exec httpd -f -p 80 -h /www\"]\n"
        ),
    );
}

impl TestApp {
    /// The app on `pool` against the real engine, with its watcher connected.
    pub async fn new(pool: PgPool) -> Self {
        Self::with_docker(pool, Docker::new(None), true).await
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
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some((ct, b)) => {
                req = req.header("content-type", ct);
                Body::from(b)
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, v)
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
        const BOUNDARY: &str = "sdmd-test-boundary-7d1c";
        let mut body = String::new();
        for (name, content) in parts {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        self.call(Method::POST, uri, Some((&ct, body))).await
    }

    pub async fn post_json(&self, uri: &str, json: &Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            uri,
            Some(("application/json", json.to_string())),
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

    /// Deletes the service and its volumes (best effort) — call at the end of a test.
    pub async fn cleanup(&self, name: &str) {
        let (s, v) = self.delete_service(name, true).await;
        if !(s.is_success() || s == StatusCode::NOT_FOUND) {
            eprintln!("cleanup of {name} answered {s}: {v}");
        }
        for id in docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.sdmd.service={name}"),
        ])
        .lines()
        {
            docker_ok(&["rm", "-f", "-v", id]);
        }
    }
}

/// The stacks directory tests use: `<tmp>/sdmd-test-stacks-<pid>`, created on first use.
pub fn stacks_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sdmd-test-stacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fetches `http://127.0.0.1:{port}/` and returns the body, if it answers.
pub async fn http_get(port: u16) -> Option<String> {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    resp.text().await.ok()
}

/// Runs `test` on a multi-threaded runtime (as in production) with a fresh, migrated database
/// that is dropped afterwards. `DATABASE_URL` names the test server's maintenance database.
pub fn with_db<F, Fut>(test: F)
where
    F: FnOnce(PgPool) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let url = std::env::var("DATABASE_URL").expect(
            "DATABASE_URL must point at the test PostgreSQL (make test sets it; see scripts/test-env.sh)",
        );
        let admin = sqlx::PgPool::connect(&url).await.unwrap_or_else(|e| panic!("cannot reach the test database at {url}: {e}"));
        let name = format!("sdmd_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&admin).await.unwrap();
        let mut opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        opts = opts.database(&name);
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(10).connect_with(opts).await.unwrap();
        sdmd::db::migrate(&pool).await.unwrap();
        test(pool.clone()).await;
        pool.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)"))).execute(&admin).await.unwrap();
    });
}
