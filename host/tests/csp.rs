//! The Content-Security-Policy allows scripts by hash, never `'unsafe-inline'`: every inline
//! script of the served HTML (dashboard export and the API docs page) has its SHA-256 listed,
//! from the build's `csp-hashes.json` or, without one, hashed by sdmd at startup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use base64::Engine;
use sdmd::auth::Auth;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use support::auth::state_with;
use support::http::call;

/// Inline script bodies of `html`, found independently of sdmd's own parser (a regex-free
/// scan for `<script…>` tags whose attributes have no `src=`).
fn inline_scripts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("<script").skip(1) {
        let Some((attrs, rest)) = part.split_once('>') else {
            continue;
        };
        if attrs.contains("src=") {
            continue;
        }
        let body = rest.split("</script>").next().unwrap();
        out.push(body.to_owned());
    }
    out
}

fn sha256_source(body: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
    )
}

/// The `script-src` directive's sources.
fn script_src(csp: &str) -> Vec<String> {
    let d = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    d.split_whitespace().skip(1).map(str::to_owned).collect()
}

/// A small export shaped like Next.js's: inline bootstrap scripts, a module, an external one.
fn write_export(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("login")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        r#"<!DOCTYPE html><html><head><script>try{document.documentElement.classList.add("dark")}catch(e){}</script><script src="/_next/static/chunks/main.js" async=""></script></head><body><script>(self.__next_f=self.__next_f||[]).push([0])</script><script>self.__next_f.push([1,"0:{\"P\":null}\n"])</script></body></html>"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("login/index.html"),
        r#"<!DOCTYPE html><html><head><script>try{document.documentElement.classList.add("dark")}catch(e){}</script></head><body><script>self.__next_f.push([1,"login page payload"])</script></body></html>"#,
    )
    .unwrap();
    std::fs::write(dir.join("404.html"), "<html><body>not found</body></html>").unwrap();
}

fn router_for(pool: PgPool, dir: &std::path::Path) -> axum::Router {
    let mut state = state_with(pool, Auth::builtin());
    state.ui_dir = Some(Arc::new(dir.to_path_buf()));
    sdmd::api::app(state)
}

/// Serves `path`, checks its CSP against its inline scripts; returns the script-src sources.
async fn check_page(router: &axum::Router, path: &str) -> Vec<String> {
    let r = call(router, Method::GET, path, None, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}");
    let html = r
        .body
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not HTML"));
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    let sources = script_src(csp);
    assert!(
        !sources
            .iter()
            .any(|s| s == "'unsafe-inline'" || s == "'unsafe-eval'" || s == "*"),
        "{path}: {csp}"
    );
    assert_eq!(sources[0], "'self'");
    let scripts = inline_scripts(html);
    assert!(!scripts.is_empty(), "{path} has no inline script to check");
    for body in &scripts {
        let h = sha256_source(body);
        assert!(sources.contains(&h), "{path}: {h} of {body:?} not in {csp}");
    }
    sources
}

#[sqlx::test(migrations = "../migrations")]
async fn every_inline_script_is_allowed_by_its_hash(pool: PgPool) {
    // An export without the build's hash file: sdmd hashes its HTML at startup.
    let dir = tempfile::tempdir().unwrap();
    write_export(dir.path());
    let router = router_for(pool.clone(), dir.path());
    for path in ["/", "/login/", "/api/docs"] {
        check_page(&router, path).await;
    }
    // JSON answers carry the same policy.
    let r = call(&router, Method::GET, "/config.json", None, &[], None).await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        !script_src(csp).iter().any(|s| s.contains("unsafe")),
        "{csp}"
    );

    // With the build's file: its hashes are served, and nothing in it but sha256 sources
    // reaches the header.
    let built = tempfile::tempdir().unwrap();
    write_export(built.path());
    let mut hashes: Vec<Value> = Vec::new();
    for f in ["index.html", "login/index.html"] {
        let html = std::fs::read_to_string(built.path().join(f)).unwrap();
        hashes.extend(
            inline_scripts(&html)
                .iter()
                .map(|b| json!(sha256_source(b))),
        );
    }
    hashes.push(json!("'unsafe-inline'"));
    hashes.push(json!("'sha256-x'; script-src *"));
    std::fs::write(
        built.path().join("csp-hashes.json"),
        json!({"script_src": hashes}).to_string(),
    )
    .unwrap();
    let router = router_for(pool.clone(), built.path());
    let sources = check_page(&router, "/").await;
    check_page(&router, "/login/").await;
    check_page(&router, "/api/docs").await;
    assert!(
        !sources
            .iter()
            .any(|s| s.contains('*') || s.contains("unsafe"))
    );

    // The build's file is what counts: a script it does not list is not allowed (the file is
    // the build-time record; sdmd does not widen it).
    std::fs::write(
        built.path().join("csp-hashes.json"),
        json!({"script_src": []}).to_string(),
    )
    .unwrap();
    let router = router_for(pool, built.path());
    let r = call(&router, Method::GET, "/", None, &[], None).await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    let theme = sha256_source(r#"try{document.documentElement.classList.add("dark")}catch(e){}"#);
    assert!(!script_src(csp).contains(&theme), "{csp}");
}
