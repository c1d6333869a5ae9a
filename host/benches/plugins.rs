//! Plugin runtime benchmark (not a test): for each example plugin, the .wasm size, compile time, cold
//! start (load the cached artefact + instantiate + call), instantiate+call p50/p99 on a fresh Store each
//! time, call-only on one reused instance, the async API as the server calls it (typed input, awaited
//! with the outer timeout in a task on a runtime worker: what production does), and the invoke API (JSON
//! in and out).
//! Run: `plugins/build.sh && cargo bench -p sdmd --bench plugins` (`SDMD_BENCH_ONLY=<plugin>` for one row;
//! the `hostile` row is the fixture in its harmless `ok` mode: the runtime's fixed cost per call).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use sdmd::plugins::types::{
    Candidate, Container, Event, EventKind, HealthInput, Image, Service, StrategyInput,
};
use sdmd::plugins::{Capability, Grants, HttpGrant, Limits, Runtime, RuntimeConfig};
use serde_json::{Value, json};
use support::plugins::wasm;

const N: usize = 5000;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (pct(&v, 0.5), pct(&v, 0.99))
}

struct Case {
    name: &'static str,
    grants: Grants,
    config: Value,
    input: Value,
    iterations: usize,
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let _enter = tokio.enter();
    let addr = tokio.block_on(async {
        let app = axum::Router::new()
            .route("/ok", axum::routing::get(|| async { "ok" }))
            .route(
                "/hook",
                axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
            );
        support::net::serve(app).await
    });
    let http = Grants {
        capabilities: [Capability::Http].into(),
        http: HttpGrant {
            allow: vec![
                format!("http://127.0.0.1:{}", addr.port())
                    .parse()
                    .expect("pattern"),
            ],
        },
    };
    let tags: Vec<Candidate> = (0..100)
        .map(|i| Candidate {
            tag: format!("1.{}.{}", i / 10, i % 10),
            digest: None,
        })
        .collect();
    let strategy = StrategyInput {
        service: Service {
            name: "bench".into(),
            ..Default::default()
        },
        member: "web".into(),
        current: Image {
            reference: "r/app:1.2.3".into(),
            repository: "r/app".into(),
            tag: Some("1.2.3".into()),
            digest: None,
        },
        candidates: tags,
    };
    let health = HealthInput {
        service: Service {
            name: "bench".into(),
            ..Default::default()
        },
        containers: vec![Container {
            name: "c".into(),
            state: "running".into(),
            ..Default::default()
        }],
        attempt: 0,
    };
    let event = Event {
        kind: EventKind::Updated,
        service: Service {
            name: "bench".into(),
            ..Default::default()
        },
        summary: "bench updated".into(),
        from_image: None,
        to_image: None,
        detail: None,
        timestamp: "2026-11-26T12:00:00Z".into(),
    };
    let cases = [
        // Baseline: the smallest useful call (one config read), i.e. the runtime's fixed cost.
        Case {
            name: "hostile",
            grants: Grants {
                capabilities: [Capability::Http].into(),
                ..Default::default()
            },
            config: json!({"attack": "ok"}),
            input: serde_json::to_value(&event).expect("json"),
            iterations: N,
        },
        Case {
            name: "semver-strategy",
            grants: Grants {
                capabilities: [Capability::Registry].into(),
                ..Default::default()
            },
            config: json!({}),
            input: serde_json::to_value(&strategy).expect("json"),
            iterations: N,
        },
        Case {
            name: "http-health",
            grants: http.clone(),
            config: json!({"url": format!("http://{addr}/ok")}),
            input: serde_json::to_value(&health).expect("json"),
            iterations: N / 5,
        },
        Case {
            name: "webhook-notify",
            grants: http.clone(),
            config: json!({"url": format!("http://{addr}/hook")}),
            input: serde_json::to_value(&event).expect("json"),
            iterations: N / 5,
        },
        Case {
            name: "js-keyword-health",
            grants: http.clone(),
            config: json!({"url": format!("http://{addr}/ok")}),
            input: serde_json::to_value(&health).expect("json"),
            iterations: N / 10,
        },
    ];

    println!(
        "sdmd plugin benchmark: {N} iterations (fewer for HTTP and JS plugins), fresh Store per call"
    );
    println!(
        "{:<18} {:>9} {:>10} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "plugin",
        "size",
        "compile",
        "cold",
        "inst+call50",
        "inst+call99",
        "call-only50",
        "call-only99",
        "async50",
        "async99",
        "invoke-api50"
    );
    let only = std::env::var("SDMD_BENCH_ONLY").ok();
    for case in cases {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let bytes = wasm(case.name);
        let cache = tempfile::tempdir().expect("tempdir");
        let cfg = RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..Default::default()
        };
        let limits = Limits {
            deadline_ms: 10_000,
            ..Limits::default()
        };

        // Compile: a fresh runtime with an empty cache.
        let rt = Runtime::new(cfg.clone()).expect("runtime");
        let t = Instant::now();
        tokio
            .block_on(rt.inspect(bytes.clone(), None))
            .expect("inspect");
        let compile = t.elapsed();

        // Cold start: another runtime (a replica restart) with the artefact on disk.
        let rt = Runtime::new(cfg).expect("runtime");
        let t = Instant::now();
        let plugin = tokio
            .block_on(rt.load(
                bytes.clone(),
                None,
                case.grants.clone(),
                case.config.clone(),
                limits,
            ))
            .expect("load");
        let input = decode(&plugin, &case.input);
        let cold_out = run(&rt, &plugin, &input);
        let cold = t.elapsed();
        assert!(cold_out, "{}: first call failed", case.name);

        // Warm-up, then instantiate+call on a fresh Store each time.
        for _ in 0..50 {
            run(&rt, &plugin, &input);
        }
        let mut fresh = Vec::with_capacity(case.iterations);
        for _ in 0..case.iterations {
            let t = Instant::now();
            run(&rt, &plugin, &input);
            fresh.push(t.elapsed());
        }
        let call_only = rt
            .bench_call_only(&plugin, &case.input, case.iterations)
            .expect("call-only");

        // The async API as the update pipeline, the health gate and the notifier make the call: typed
        // input, awaited with the outer timeout in a task on a runtime worker.
        let pipeline = {
            let (rt, plugin, input, n) =
                (rt.clone(), plugin.clone(), input.clone(), case.iterations);
            tokio
                .block_on(tokio.spawn(async move {
                    let mut times = Vec::with_capacity(n);
                    for _ in 0..n {
                        let t = Instant::now();
                        assert!(run_async(&rt, &plugin, &input).await, "async call failed");
                        times.push(t.elapsed());
                    }
                    times
                }))
                .expect("the benchmark task")
        };

        // The invoke API (`POST /api/v1/plugins/{id}/invoke`, `sdmd plugin test`): JSON in, JSON out.
        let mut api = Vec::with_capacity(case.iterations / 5);
        for _ in 0..case.iterations / 5 {
            let t = Instant::now();
            let out = tokio.block_on(rt.invoke_json(&plugin, case.input.clone()));
            assert!(out.result.is_ok(), "{}: {:?}", case.name, out.result);
            api.push(t.elapsed());
        }
        let (f50, f99) = stats(fresh);
        let (c50, c99) = stats(call_only);
        let (p50, p99) = stats(pipeline);
        let (a50, _) = stats(api);
        println!(
            "{:<18} {:>9} {:>10} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            case.name,
            format!("{} KiB", bytes.len() / 1024),
            format!("{:.0} ms", compile.as_secs_f64() * 1e3),
            format!("{:.2} ms", cold.as_secs_f64() * 1e3),
            us(f50),
            us(f99),
            us(c50),
            us(c99),
            us(p50),
            us(p99),
            us(a50),
        );
    }
}

/// A decoded input, so the timed loop measures the plugin call and not JSON decoding.
#[derive(Clone)]
enum Input {
    Strategy(StrategyInput),
    Health(HealthInput),
    Event(Event),
}

fn decode(plugin: &sdmd::plugins::Plugin, input: &Value) -> Input {
    use sdmd::plugins::Kind;
    match plugin.inspection().manifest.kinds.iter().next().copied() {
        Some(Kind::UpdateStrategy) => {
            Input::Strategy(serde_json::from_value(input.clone()).expect("input"))
        }
        Some(Kind::HealthCheck) => {
            Input::Health(serde_json::from_value(input.clone()).expect("input"))
        }
        _ => Input::Event(serde_json::from_value(input.clone()).expect("input")),
    }
}

/// One call through the async API, as the server makes it; true on success.
async fn run_async(rt: &Runtime, plugin: &sdmd::plugins::Plugin, input: &Input) -> bool {
    match input {
        Input::Strategy(i) => rt.decide(plugin, i.clone()).await.result.is_ok(),
        Input::Health(i) => rt.check_health(plugin, i.clone()).await.result.is_ok(),
        Input::Event(e) => rt.notify(plugin, e.clone()).await.result.is_ok(),
    }
}

/// One instantiate+call through the blocking API; true on success.
fn run(rt: &Runtime, plugin: &sdmd::plugins::Plugin, input: &Input) -> bool {
    match input {
        Input::Strategy(i) => rt.decide_blocking(plugin, i).result.is_ok(),
        Input::Health(i) => rt.check_health_blocking(plugin, i).result.is_ok(),
        Input::Event(e) => rt.notify_blocking(plugin, e).result.is_ok(),
    }
}
