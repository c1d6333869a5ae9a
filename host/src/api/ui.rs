//! The dashboard: the static export in `SDMD_UI_DIR`, served on the API's origin. Paths under
//! `/api/` and `/auth/` never fall through to it (unknown ones stay JSON 404s).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::error::ApiError;
use crate::state::AppState;

const NO_UI: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SDMD</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{font-size:13px}</style>
</head><body><h1>SDMD is running</h1>
<p>The API answers here, but no dashboard build was found. Build it with
<code>bash scripts/frontend.sh build</code> (or <code>make ui</code>) in the SDMD checkout, or point
<code>SDMD_UI_DIR</code> at a built <code>frontend/out</code> directory, then restart sdmd.</p>
<p>First run without <code>SDMD_ADMIN_EMAIL</code>? sdmd printed a one-time setup code in its
log; <code>POST /api/v1/setup</code> with <code>{"code", "email", "password"}</code> creates the first
administrator.</p>
<p>Meanwhile: the API reference is at <a href="/api/docs">/api/docs</a>, health at
<a href="/healthz">/healthz</a>.</p></body></html>"#;

fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "No such route.").into_response()
}

/// Everything no route matched.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/")
        || path.starts_with("/auth/")
        || !matches!(*req.method(), Method::GET | Method::HEAD)
    {
        return not_found();
    }
    let Some(dir) = state.ui_dir.clone() else {
        return if path == "/" {
            Html(NO_UI).into_response()
        } else {
            not_found()
        };
    };
    let serve = ServeDir::new(&*dir)
        .append_index_html_on_directories(true)
        .not_found_service(ServeFile::new(dir.join("404.html")));
    match serve.oneshot(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(e) => match e {},
    }
}

/// The default UI directory: `frontend/out` in the workspace the binary was built in, when it
/// holds a build (`target/{debug,release}/sdmd` → the workspace root).
pub fn default_dir() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|a| a.join("frontend/out"))
        .find(|d| d.join("index.html").is_file())
}
