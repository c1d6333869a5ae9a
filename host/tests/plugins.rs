//! The plugin runtime end to end: the example plugins with real capabilities (a local HTTP server on
//! 127.0.0.1, granted explicitly), every hostile fixture contained while other plugins keep working, and
//! upload validation. Needs the guest builds: run `plugins/build.sh` first.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use sdmd::plugins::types::{
    Candidate, Container, Decision, Event, EventKind, Health, HealthInput, Image, LogLevel,
    Service, StrategyInput,
};
use sdmd::plugins::{
    Capability, Grants, HttpGrant, Limits, Manifest, Plugin, PluginError, Registry, Runtime,
    RuntimeConfig,
};
use serde_json::{Value, json};
use support::plugins::{runtime, wasm};

struct FakeRegistry;

impl Registry for FakeRegistry {
    fn list_tags(&self, repository: &str) -> Result<Vec<String>, String> {
        match repository {
            "127.0.0.1:5000/demo/app" => Ok(vec![
                "1.0.0".into(),
                "1.1.0".into(),
                "2.0.0-rc.1".into(),
                "latest".into(),
            ]),
            other => Err(format!("no such repository {other}")),
        }
    }
    fn resolve_digest(&self, _reference: &str) -> Result<String, String> {
        Ok("sha256:00".into())
    }
}

/// What the local test server received.
#[derive(Default)]
struct Seen {
    posts: Vec<(HeaderMap, String)>,
}

type Shared = Arc<Mutex<Seen>>;

/// A local HTTP server: `/ok`, `/status?code=`, `/redirect?to=`, `/big`, `/hook` (POST, recorded).
async fn server() -> (SocketAddr, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/ok", get(|| async { "service is ok" }))
        .route(
            "/status",
            get(
                |Query(q): Query<std::collections::HashMap<String, u16>>| async move {
                    StatusCode::from_u16(q.get("code").copied().unwrap_or(500))
                        .unwrap_or(StatusCode::IM_A_TEAPOT)
                },
            ),
        )
        .route(
            "/redirect",
            get(
                |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    Redirect::to(q.get("to").map(String::as_str).unwrap_or("/ok")).into_response()
                },
            ),
        )
        .route("/big", get(|| async { "x".repeat(2 << 20) }))
        .route(
            "/hook",
            post(
                |State(seen): State<Shared>, headers: HeaderMap, body: String| async move {
                    seen.lock().expect("lock").posts.push((headers, body));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(seen.clone());
    (support::net::serve(app).await, seen)
}

fn http_grant(patterns: &[String]) -> Grants {
    Grants {
        capabilities: BTreeSet::from([Capability::Http]),
        http: HttpGrant {
            allow: patterns
                .iter()
                .map(|p| p.parse().expect("pattern"))
                .collect(),
        },
    }
}

/// The http capability with an empty allow-list: the hostile fixture declares http, so it needs the grant.
fn no_hosts() -> Grants {
    http_grant(&[])
}

async fn load(rt: &Runtime, name: &str, grants: Grants, config: Value) -> Plugin {
    load_with(rt, name, grants, config, Limits::default()).await
}

async fn load_with(
    rt: &Runtime,
    name: &str,
    grants: Grants,
    config: Value,
    limits: Limits,
) -> Plugin {
    match rt.load(wasm(name), None, grants, config, limits).await {
        Ok(p) => p,
        Err(e) => panic!("loading {name}: {e}"),
    }
}

fn event() -> Event {
    Event {
        kind: EventKind::Updated,
        service: Service {
            name: "whoami".into(),
            revision: 2,
            ..Default::default()
        },
        summary: "whoami updated to 1.1.0".into(),
        from_image: Some("app:1.0.0".into()),
        to_image: Some("app:1.1.0".into()),
        detail: None,
        timestamp: "2026-11-26T12:00:00Z".into(),
    }
}

fn health_input(attempt: u32) -> HealthInput {
    HealthInput {
        service: Service {
            name: "whoami".into(),
            ..Default::default()
        },
        containers: vec![Container {
            name: "whoami-web".into(),
            state: "running".into(),
            ..Default::default()
        }],
        attempt,
    }
}

fn strategy_input(tag: &str, candidates: &[&str]) -> StrategyInput {
    StrategyInput {
        service: Service {
            name: "whoami".into(),
            ..Default::default()
        },
        member: "web".into(),
        current: Image {
            reference: format!("127.0.0.1:5000/demo/app:{tag}"),
            repository: "127.0.0.1:5000/demo/app".into(),
            tag: Some(tag.into()),
            digest: None,
        },
        candidates: candidates
            .iter()
            .map(|t| Candidate {
                tag: (*t).into(),
                digest: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn semver_strategy_with_candidates_and_registry() {
    let rt = runtime();
    rt.set_registry(Arc::new(FakeRegistry));
    let grants = Grants {
        capabilities: BTreeSet::from([Capability::Registry]),
        ..Default::default()
    };
    let p = load(
        &rt,
        "semver-strategy",
        grants.clone(),
        json!({"threshold": "minor"}),
    )
    .await;
    let out = rt
        .decide(
            &p,
            strategy_input("1.2.3", &["1.2.4", "1.3.0", "2.0.0", "latest"]),
        )
        .await;
    assert_eq!(
        out.result.expect("decision"),
        Decision::UpdateTo {
            candidate: Candidate {
                tag: "1.3.0".into(),
                digest: None
            }
        }
    );
    // No candidates from the host: the plugin lists tags through the granted registry capability.
    let out = rt.decide(&p, strategy_input("1.0.0", &[])).await;
    assert_eq!(
        out.result.expect("decision"),
        Decision::UpdateTo {
            candidate: Candidate {
                tag: "1.1.0".into(),
                digest: None
            }
        }
    );
    let out = rt.decide(&p, strategy_input("latest", &["1.0.0"])).await;
    assert!(
        matches!(out.result, Ok(Decision::Skip { .. })),
        "{:?}",
        out.result
    );
    // Declared but not granted: cannot be loaded (so it cannot be enabled).
    let err = rt
        .load(
            wasm("semver-strategy"),
            None,
            Grants::default(),
            json!({}),
            Limits::default(),
        )
        .await
        .err();
    assert!(
        matches!(&err, Some(PluginError::NotGranted { missing, .. }) if missing == &[Capability::Registry]),
        "{err:?}"
    );
    // A config that does not match the schema is refused.
    let err = rt
        .load(
            wasm("semver-strategy"),
            None,
            grants,
            json!({"threshold": "sideways"}),
            Limits::default(),
        )
        .await
        .err();
    assert!(matches!(err, Some(PluginError::Manifest(_))), "{err:?}");
}

#[tokio::test]
async fn http_health_against_a_granted_local_server() {
    let (addr, _) = server().await;
    let rt = runtime();
    let grant = http_grant(&[format!("http://127.0.0.1:{}", addr.port())]);
    let ok = load(
        &rt,
        "http-health",
        grant.clone(),
        json!({"url": format!("http://{addr}/ok"), "body_contains": "ok"}),
    )
    .await;
    assert_eq!(
        rt.check_health(&ok, health_input(0))
            .await
            .result
            .expect("verdict"),
        Health::Healthy
    );
    let bad_url = format!("http://{addr}/status?code=503");
    let bad = load(
        &rt,
        "http-health",
        grant.clone(),
        json!({"url": bad_url, "attempts": 2, "retry_ms": 50}),
    )
    .await;
    assert_eq!(
        rt.check_health(&bad, health_input(0))
            .await
            .result
            .expect("verdict"),
        Health::RetryAfter { ms: 50 }
    );
    let out = rt.check_health(&bad, health_input(1)).await;
    assert!(
        matches!(&out.result, Ok(Health::Unhealthy { reason }) if reason.contains("503")),
        "{:?}",
        out.result
    );
    assert!(
        out.logs.iter().any(|l| l.message.contains("attempt 2")),
        "{:?}",
        out.logs
    );
    let big = load(
        &rt,
        "http-health",
        grant,
        json!({"url": format!("http://{addr}/big"), "attempts": 1}),
    )
    .await;
    let out = rt.check_health(&big, health_input(0)).await;
    assert!(
        matches!(&out.result, Ok(Health::Unhealthy { reason }) if reason.contains("TooLarge") || reason.contains("too large")),
        "{:?}",
        out.result
    );
}

#[tokio::test]
async fn webhook_notify_posts_each_format() {
    let (addr, seen) = server().await;
    let rt = runtime();
    let grant = http_grant(&[format!("http://127.0.0.1:{}", addr.port())]);
    let url = format!("http://{addr}/hook");
    for (format, expect) in [
        ("json", json!({"kind": "updated", "service": "whoami"})),
        (
            "slack",
            json!({"text": "[updated] whoami updated to 1.1.0"}),
        ),
        ("discord", json!({"username": "SDMD"})),
        ("ntfy", json!({"topic": "ops", "priority": 3})),
    ] {
        let cfg = json!({"url": url, "format": format, "topic": "ops", "token": "s3cret"});
        let p = load(&rt, "webhook-notify", grant.clone(), cfg).await;
        let out = rt.notify(&p, event()).await;
        assert!(
            out.result.is_ok(),
            "{format}: {:?} {:?}",
            out.result,
            out.logs
        );
        let (headers, body) = seen.lock().expect("lock").posts.pop().expect("a POST");
        let body: Value = serde_json::from_str(&body).expect("json body");
        for (k, v) in expect.as_object().expect("object") {
            assert_eq!(&body[k], v, "{format}: {body}");
        }
        assert_eq!(
            headers.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer s3cret")
        );
    }
}

#[tokio::test]
async fn javascript_example_runs_in_the_same_sandbox() {
    let (addr, _) = server().await;
    let rt = runtime();
    let grant = http_grant(&[format!("http://127.0.0.1:{}", addr.port())]);
    let limits = Limits {
        deadline_ms: 5000,
        ..Limits::default()
    };
    let p = load_with(
        &rt,
        "js-keyword-health",
        grant.clone(),
        json!({"url": format!("http://{addr}/ok"), "keyword": "ok"}),
        limits,
    )
    .await;
    let out = rt.check_health(&p, health_input(0)).await;
    assert_eq!(
        out.result.expect("verdict"),
        Health::Healthy,
        "{:?}",
        out.logs
    );
    assert!(
        out.logs
            .iter()
            .any(|l| l.level == LogLevel::Info && l.message.contains("200")),
        "{:?}",
        out.logs
    );
    let p = load_with(
        &rt,
        "js-keyword-health",
        grant,
        json!({"url": format!("http://{addr}/ok"), "keyword": "nope", "attempts": 1}),
        limits,
    )
    .await;
    let out = rt.check_health(&p, health_input(0)).await;
    assert!(
        matches!(&out.result, Ok(Health::Unhealthy { reason }) if reason.contains("nope")),
        "{:?}",
        out.result
    );
    // Not granted this server: the JS plugin throws, the host reports it as the plugin's error.
    let p = load_with(
        &rt,
        "js-keyword-health",
        http_grant(&[]),
        json!({"url": format!("http://{addr}/ok")}),
        limits,
    )
    .await;
    let out = rt.check_health(&p, health_input(0)).await;
    assert!(
        matches!(&out.result, Err(PluginError::Failed { message, .. }) if message.contains("denied")),
        "{:?}",
        out.result
    );
}

/// Runs one attack of the hostile fixture, then shows a well-behaved plugin still works on this runtime.
async fn attack(
    rt: &Runtime,
    config: Value,
    grants: Grants,
    limits: Limits,
) -> sdmd::plugins::Outcome<()> {
    let p = load_with(rt, "hostile", grants, config, limits).await;
    let (hostile, good) = tokio::join!(rt.notify(&p, event()), async {
        let good = load(rt, "hostile", no_hosts(), json!({"attack": "ok"})).await;
        rt.notify(&good, event()).await
    });
    assert!(
        good.result.is_ok(),
        "a well-behaved plugin failed beside the attack: {:?}",
        good.result
    );
    let after = load(rt, "hostile", no_hosts(), json!({"attack": "ok"})).await;
    assert!(
        rt.notify(&after, event()).await.result.is_ok(),
        "the runtime broke after the attack"
    );
    hostile
}

#[tokio::test]
async fn infinite_loop_is_stopped_at_its_deadline() {
    let rt = runtime();
    let limits = Limits {
        deadline_ms: 200,
        ..Limits::default()
    };
    let out = attack(&rt, json!({"attack": "loop"}), no_hosts(), limits).await;
    assert!(
        matches!(out.result, Err(PluginError::Deadline { ms: 200, .. })),
        "{:?}",
        out.result
    );
    // Printed, not asserted tightly (a loaded CI machine is no benchmark); the bound only catches a
    // missing deadline.
    println!("loop stopped after {:?} (deadline 200 ms)", out.duration);
    assert!(out.duration < Duration::from_secs(2), "{:?}", out.duration);
}

#[tokio::test]
async fn no_memory_residue_between_calls() {
    // Pooled memory slots are recycled (PAGEMAP_SCAN restores what a call wrote): a call must
    // never see what an earlier one left, in the data segment or in pages past the resident part.
    let rt = runtime();
    let p = load(&rt, "hostile", no_hosts(), json!({"attack": "residue"})).await;
    for round in 0..5 {
        let out = rt.notify(&p, event()).await;
        assert!(out.result.is_ok(), "call {round}: {:?}", out.result);
    }
    // Alternate with another plugin so that slots change hands too.
    let other = load(&rt, "hostile", no_hosts(), json!({"attack": "ok"})).await;
    for _ in 0..3 {
        assert!(rt.notify(&other, event()).await.result.is_ok());
        assert!(rt.notify(&p, event()).await.result.is_ok());
    }
}

#[tokio::test]
async fn huge_allocation_hits_the_memory_limit() {
    let rt = runtime();
    let out = attack(
        &rt,
        json!({"attack": "alloc"}),
        no_hosts(),
        Limits::default(),
    )
    .await;
    assert!(
        matches!(out.result, Err(PluginError::Memory { bytes, .. }) if bytes == 64 << 20),
        "{:?}",
        out.result
    );
}

#[tokio::test]
async fn reading_etc_passwd_fails() {
    let rt = runtime();
    let out = attack(
        &rt,
        json!({"attack": "passwd"}),
        no_hosts(),
        Limits::default(),
    )
    .await;
    assert!(
        matches!(&out.result, Err(PluginError::Failed { message, .. }) if message.contains("reading /etc/passwd failed")),
        "{:?}",
        out.result
    );
    assert!(
        !out.logs.iter().any(|l| l.message.contains("root:")),
        "{:?}",
        out.logs
    );
}

#[tokio::test]
async fn flood_of_stdout_is_capped() {
    let rt = runtime();
    let limits = Limits {
        deadline_ms: 10_000,
        ..Limits::default()
    };
    let out = attack(&rt, json!({"attack": "stdout"}), no_hosts(), limits).await;
    assert!(out.result.is_ok(), "{:?}", out.result);
    let kept: usize = out.logs.iter().map(|l| l.message.len()).sum();
    assert!(
        kept <= 2 * Limits::default().log_bytes,
        "kept {kept} bytes of 100 MB"
    );
    assert!(
        out.logs.iter().any(|l| l.message.contains("dropped")),
        "the cap is reported"
    );
}

#[tokio::test]
async fn panic_is_a_clean_error_naming_the_plugin() {
    let rt = runtime();
    let out = attack(
        &rt,
        json!({"attack": "panic"}),
        no_hosts(),
        Limits::default(),
    )
    .await;
    match out.result {
        Err(e @ PluginError::Panic { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("plugin hostile panicked") && text.contains("on purpose"),
                "{text}"
            );
        }
        other => panic!("expected a panic error, got {other:?}"),
    }
}

#[tokio::test]
async fn http_escapes_are_refused() {
    let (addr, _) = server().await;
    let rt = runtime();
    let port = addr.port();
    let granted = http_grant(&[format!("http://127.0.0.1:{port}")]);
    let cases = [
        // an ungranted host
        (
            json!({"attack": "http", "url": "http://example.com/"}),
            granted.clone(),
            "not in the plugin's grant",
        ),
        // 127.0.0.1 without any grant
        (
            json!({"attack": "http", "url": format!("http://127.0.0.1:{port}/ok")}),
            http_grant(&[]),
            "not in the plugin's grant",
        ),
        // loopback through a granted *name*: the IP itself must be granted
        (
            json!({"attack": "http", "url": format!("http://localhost:{port}/ok")}),
            http_grant(&[format!("http://localhost:{port}")]),
            "resolves to",
        ),
        // a redirect to a host outside the grant
        (
            json!({"attack": "http", "url": format!("http://127.0.0.1:{port}/redirect?to=http://169.254.169.254/latest/meta-data/"), "follow_redirects": true}),
            granted.clone(),
            "redirect to",
        ),
        // a redirect to the same server on another port
        (
            json!({"attack": "http", "url": format!("http://127.0.0.1:{port}/redirect?to=http://127.0.0.1:1/"), "follow_redirects": true}),
            granted.clone(),
            "redirect to",
        ),
        // a spoofed Host header
        (
            json!({"attack": "http", "url": format!("http://127.0.0.1:{port}/ok"), "host_header": "metadata.google.internal"}),
            granted.clone(),
            "Host header",
        ),
    ];
    for (config, grants, why) in cases {
        let out = attack(&rt, config.clone(), grants, Limits::default()).await;
        match &out.result {
            Err(PluginError::Failed { message, .. }) if message.contains(why) => {}
            other => panic!(
                "{config}: expected a denial mentioning {why:?}, got {other:?} {:?}",
                out.logs
            ),
        }
        assert!(
            !out.logs.iter().any(|l| l.message.starts_with("REACHED")),
            "{config}: {:?}",
            out.logs
        );
    }
    // Within the grant, a redirect is followed.
    let cfg = json!({"attack": "http", "url": format!("http://127.0.0.1:{port}/redirect?to=/ok"), "follow_redirects": true});
    let out = attack(&rt, cfg, granted, Limits::default()).await;
    assert!(
        out.result.is_ok() && out.logs.iter().any(|l| l.message.contains("REACHED")),
        "{:?} {:?}",
        out.result,
        out.logs
    );
    // Without the http grant the plugin cannot even be loaded.
    let err = rt
        .load(
            wasm("hostile"),
            None,
            Grants::default(),
            json!({"attack": "http"}),
            Limits::default(),
        )
        .await
        .err();
    assert!(
        matches!(&err, Some(PluginError::NotGranted { missing, .. }) if missing == &[Capability::Http]),
        "{err:?}"
    );
}

#[tokio::test]
async fn uploads_that_are_refused() {
    let rt = runtime();
    let check = |r: Result<sdmd::plugins::Inspection, PluginError>, want: &str| match r {
        Err(e) => {
            assert!(e.is_validation(), "{e}");
            assert!(e.to_string().contains(want), "{e} should mention {want}");
        }
        Ok(i) => panic!("accepted {:?}", i.manifest.id),
    };
    check(
        rt.inspect(Arc::from(&b"hello world"[..]), None).await,
        "WebAssembly header",
    );
    check(
        rt.inspect(Arc::from(&b"\0asm\x01\0\0\0"[..]), None).await,
        "core WebAssembly module",
    );
    // A component exporting another world than its manifest claims.
    let mut m: Manifest =
        serde_json::from_str(include_str!("../../plugins/http-health/plugin.json"))
            .expect("manifest");
    m.kinds = BTreeSet::from([sdmd::plugins::Kind::UpdateStrategy]);
    m.capabilities = BTreeSet::from([Capability::Log, Capability::Config]);
    check(
        rt.inspect(wasm("http-health"), Some(m)).await,
        "does not export the update-strategy world",
    );
    // Built against a WIT version this host does not know.
    check(
        rt.inspect(wasm("future-wit"), None).await,
        "unsupported WIT version 0.9.0",
    );
    // A manifest claiming 0.1.0 for a 0.9.0 component.
    let mut m: Manifest = serde_json::from_str(include_str!(
        "../../plugins/fixtures/future-wit/plugin.json"
    ))
    .expect("m");
    m.wit = "0.1.0".into();
    check(
        rt.inspect(wasm("future-wit"), Some(m)).await,
        "unsupported WIT version 0.9.0",
    );
    // Importing a capability its manifest does not declare.
    let mut m: Manifest =
        serde_json::from_str(include_str!("../../plugins/http-health/plugin.json")).expect("m");
    m.capabilities.remove(&Capability::Http);
    check(
        rt.inspect(wasm("http-health"), Some(m)).await,
        "does not declare the http capability",
    );
    // Oversized.
    check(
        rt.inspect(vec![0u8; sdmd::plugins::MAX_WASM_BYTES + 1].into(), None)
            .await,
        "limit",
    );
}

/// A component built against 0.1.0 when 0.1.0 was released, committed as bytes: the host must load it for
/// as long as it claims to support 0.1 (see docs/plugins.md, version policy).
#[tokio::test]
async fn a_frozen_0_1_plugin_still_loads() {
    let bytes = include_bytes!("fixtures/wit-0.1.0/http-health.wasm");
    let rt = runtime();
    let (addr, _) = server().await;
    let grant = http_grant(&[format!("http://127.0.0.1:{}", addr.port())]);
    let p = rt
        .load(
            Arc::from(&bytes[..]),
            None,
            grant,
            json!({"url": format!("http://{addr}/ok")}),
            Limits::default(),
        )
        .await
        .expect("a 0.1.0 plugin loads");
    assert_eq!(p.inspection().wit, "0.1.0");
    assert_eq!(
        rt.check_health(&p, health_input(0))
            .await
            .result
            .expect("verdict"),
        Health::Healthy
    );
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let first = Runtime::new(cfg.clone()).expect("runtime");
    first
        .inspect(wasm("webhook-notify"), None)
        .await
        .expect("inspect");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1, "one cached artefact");
    // A fresh runtime (another replica start) loads the artefact and runs it.
    let second = Runtime::new(cfg).expect("runtime");
    let p = second
        .load(
            wasm("hostile"),
            None,
            no_hosts(),
            json!({"attack": "ok"}),
            Limits::default(),
        )
        .await
        .expect("load");
    assert!(second.notify(&p, event()).await.result.is_ok());
}

#[tokio::test]
async fn invoke_json_uses_the_plugin_kind() {
    let rt = runtime();
    rt.set_registry(Arc::new(FakeRegistry));
    let grants = Grants {
        capabilities: BTreeSet::from([Capability::Registry]),
        ..Default::default()
    };
    let p = load(&rt, "semver-strategy", grants, json!({})).await;
    let input = json!({"current": {"reference": "app:1.0.0", "repository": "app", "tag": "1.0.0"}, "candidates": [{"tag": "1.0.1"}]});
    let out = rt.invoke_json(&p, input).await;
    assert_eq!(
        out.result.expect("output"),
        json!({"action": "update_to", "candidate": {"tag": "1.0.1", "digest": null}})
    );
    let out = rt.invoke_json(&p, json!({"nonsense": true})).await;
    assert!(out.result.is_err());
}

#[tokio::test]
async fn registry_capability_is_scoped_to_the_decided_repository() {
    let rt = runtime();
    rt.set_registry(Arc::new(FakeRegistry));
    let grants = Grants {
        capabilities: BTreeSet::from([Capability::Registry]),
        ..Default::default()
    };
    let input = strategy_input("1.0.0", &[]);
    let own = load(&rt, "nosy-strategy", grants.clone(), json!({})).await;
    let out = rt.decide(&own, input.clone()).await;
    match out.result {
        Ok(Decision::Skip { reason }) => assert!(
            reason.contains("1.1.0") && reason.contains("sha256:00"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    // Another repository, another host: refused by the host, whatever the plugin asks.
    for (repo, reference) in [
        ("127.0.0.1:5000/demo/other", "127.0.0.1:5000/demo/other:1"),
        ("169.254.169.254/latest", "169.254.169.254/latest:meta-data"),
    ] {
        let p = load(
            &rt,
            "nosy-strategy",
            grants.clone(),
            json!({"repository": repo, "reference": reference}),
        )
        .await;
        match rt.decide(&p, input.clone()).await.result {
            Ok(Decision::Skip { reason }) => {
                assert_eq!(
                    reason
                        .matches("denied: only 127.0.0.1:5000/demo/app")
                        .count(),
                    2,
                    "{reason}"
                )
            }
            other => panic!("{repo}: {other:?}"),
        }
    }
}

/// Pushes the test environment's base image under `repo:tag` to the local registry.
fn push(repo: &str, tag: &str) {
    let target = format!("{repo}:{tag}");
    support::docker::docker(&["tag", "local/busybox:1", &target]);
    support::docker::docker(&["push", &target]);
    support::docker::docker(&["rmi", &target]);
}

#[tokio::test]
async fn registry_capability_against_the_local_registry() {
    let repo = format!("127.0.0.1:5000/sdmd-plugins-test/t{}", std::process::id());
    push(&repo, "1.0.0");
    push(&repo, "1.1.0");
    let rt = runtime();
    let core = sdmd::registry::Registry::new(Duration::from_secs(60));
    rt.set_registry(Arc::new(sdmd::plugins::registry_access::CoreRegistry::new(
        Arc::new(core),
    )));
    let grants = Grants {
        capabilities: BTreeSet::from([Capability::Registry]),
        ..Default::default()
    };
    let mut input = strategy_input("1.0.0", &[]);
    input.current.repository = repo.clone();
    input.current.reference = format!("{repo}:1.0.0");
    let p = load(&rt, "semver-strategy", grants.clone(), json!({})).await;
    let out = rt.decide(&p, input.clone()).await;
    assert_eq!(
        out.result.expect("decision"),
        Decision::UpdateTo {
            candidate: Candidate {
                tag: "1.1.0".into(),
                digest: None
            }
        },
        "{:?}",
        out.logs
    );
    let p = load(&rt, "nosy-strategy", grants, json!({})).await;
    match rt.decide(&p, input).await.result {
        Ok(Decision::Skip { reason }) => {
            assert!(
                (reason.contains(r#"tags=Ok("1.0.0,1.1.0")"#)
                    || reason.contains(r#"tags=Ok("1.1.0,1.0.0")"#))
                    && reason.contains("Ok(\"sha256:"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}
