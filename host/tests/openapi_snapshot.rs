//! The OpenAPI document the app serves is the committed snapshot the dashboard's typed client is
//! generated from (`frontend/lib/api/openapi.json`, docs/frontend.md). A change to the API's
//! types fails here until the snapshot is regenerated and the dashboard typechecks against it:
//!
//! ```text
//! SDMD_UPDATE_OPENAPI=1 cargo test -p sdmd --test openapi_snapshot
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::Value;
use support::*;

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/lib/api/openapi.json")
}

/// The document as the snapshot stores it: pretty-printed, keys in the served order, a newline
/// at the end (so that prettier and `git diff` leave it alone).
fn render(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap();
    s.push('\n');
    s
}

/// Where two documents first differ, as a JSON pointer (for a readable failure).
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_difference(u, v, p) {
                            return Some(d);
                        }
                    }
                    _ => return Some(p),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, format!("{at}/{i}"))),
        _ => (a != b).then_some(at),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_served_document_is_the_committed_snapshot(pool: sqlx::PgPool) {
    let app = TestApp::without_docker(pool).await;
    let (status, served) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{served}");
    assert!(served["paths"].is_object(), "not an OpenAPI document");

    let path = snapshot_path();
    if std::env::var("SDMD_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, render(&served)).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with SDMD_UPDATE_OPENAPI=1 cargo test -p sdmd --test openapi_snapshot",
            path.display()
        )
    });
    if committed == render(&served) {
        return;
    }
    let parsed: Value = serde_json::from_str(&committed).expect("the snapshot is JSON");
    let Some(at) = first_difference(&served, &parsed, String::new()) else {
        panic!(
            "{} has the served content but not its canonical rendering (edited by hand?); \
             regenerate it with SDMD_UPDATE_OPENAPI=1 cargo test -p sdmd --test openapi_snapshot",
            path.display()
        );
    };
    panic!(
        "the served OpenAPI document differs from {} at {at:?}\n  served:    {}\n  committed: {}\n\
         Regenerate it with SDMD_UPDATE_OPENAPI=1 cargo test -p sdmd --test openapi_snapshot,\n\
         then run scripts/frontend.sh (the dashboard's client is generated from it).",
        path.display(),
        served
            .pointer(&at)
            .map_or("(absent)".into(), |v| v.to_string()),
        parsed
            .pointer(&at)
            .map_or("(absent)".into(), |v| v.to_string()),
    );
}
