//! Benchmark: check 100 services against the local registry (127.0.0.1:5000), all at once as a
//! schedule firing at the same minute would, through the library's `updates::check` with a real
//! engine, registry and PostgreSQL. Prints wall time and registry requests by kind (sdmd's
//! counters, cross-checked with the registry's access log when it is there); asserts nothing
//! about time. Run with `make bench` (or `DATABASE_URL=… cargo bench -p sdmd --bench updates_check`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::{DOCKER, docker};

use sdmd::db::audit::AuditContext;
use sdmd::docker::Docker;
use sdmd::state::AppState;
use sdmd::updates::Trigger;

const SERVICES: usize = 100;
const IMAGES: usize = 10;
const REGISTRY: &str = "127.0.0.1:5000";

/// Manifest requests for the bench's repositories in the registry's access log, by method.
fn access_log() -> Option<(usize, usize)> {
    let state = std::env::var("SDMD_TEST_STATE").unwrap_or_else(|_| "/tmp/sdmd-test-env".into());
    let log = std::fs::read_to_string(format!("{state}/registry.log")).ok()?;
    let count = |m: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("\"{m} /v2/sdmdbench/")) && l.contains("/manifests/"))
            .count()
    };
    Some((count("HEAD"), count("GET")))
}

struct Round {
    wall: Duration,
    head: u64,
    get: u64,
    token: u64,
    hits: u64,
    updates: usize,
    log: Option<(usize, usize)>,
}

async fn round(state: &AppState, names: &[String], trigger: Trigger) -> Round {
    let c = &state.registry.counters;
    let before = (
        c.head.load(Ordering::Relaxed),
        c.get.load(Ordering::Relaxed),
        c.token.load(Ordering::Relaxed),
        c.cache_hits.load(Ordering::Relaxed),
    );
    let log_before = access_log();
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        let (state, name) = (state.clone(), name.clone());
        set.spawn(async move {
            let ctx = AuditContext {
                actor: "bench".into(),
                ..AuditContext::default()
            };
            sdmd::updates::check(&state, &ctx, &name, trigger)
                .await
                .expect("check")
        });
    }
    let mut updates = 0;
    while let Some(report) = set.join_next().await {
        let report = report.unwrap();
        assert!(
            report.images.iter().all(|i| i.error.is_none()),
            "{:?}",
            report.images
        );
        updates += usize::from(report.update_available);
    }
    let wall = t.elapsed();
    // The registry writes its access log asynchronously.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = match (log_before, access_log()) {
        (Some(a), Some(b)) => Some((b.0 - a.0, b.1 - a.1)),
        _ => None,
    };
    Round {
        wall,
        head: c.head.load(Ordering::Relaxed) - before.0,
        get: c.get.load(Ordering::Relaxed) - before.1,
        token: c.token.load(Ordering::Relaxed) - before.2,
        hits: c.cache_hits.load(Ordering::Relaxed) - before.3,
        updates,
        log,
    }
}

fn main() {
    let db = support::db::ScratchDb::create("sdmd_bench_check");
    let db_url = db.url.clone();

    // IMAGES distinct images, each pushed (so the local image knows its registry digest).
    let t = Instant::now();
    let images: Vec<String> = (0..IMAGES)
        .map(|i| format!("{REGISTRY}/sdmdbench/app{i}:latest"))
        .collect();
    for (i, image) in images.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM local/busybox:1\nLABEL sdmd.bench=1 n={i}\n"),
        )
        .unwrap();
        docker(&["build", "-q", "-t", image, dir.path().to_str().unwrap()]);
        docker(&["push", "-q", image]);
    }
    println!("built and pushed {IMAGES} images in {:?}", t.elapsed());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sdmd::db::connect(&db_url).await.unwrap();
        sdmd::db::migrate(&pool).await.unwrap();
        let state = AppState::new(pool, Docker::new(None));
        let ctx = AuditContext::system();
        let mut names = Vec::new();
        for i in 0..SERVICES {
            let name = format!("bench-check-{i}");
            let project = sdmd::project::Project {
                source: serde_json::json!({
                    "name": name,
                    "services": {"app": {"image": images[i % IMAGES]}},
                }),
                files: Default::default(),
            };
            sdmd::ops::create(&state, &ctx, project).await.unwrap();
            names.push(name);
        }

        println!(
            "{SERVICES} services, {IMAGES} distinct image references, all checked at once \
             (registry {REGISTRY}, at most 2 requests in flight)"
        );
        println!(
            "{:<44} {:>9} {:>5} {:>4} {:>6} {:>5} {:>8} {:>14}",
            "", "wall", "HEAD", "GET", "token", "hits", "updates", "access log H/G"
        );
        for (label, trigger) in [
            ("scheduled checks, cold cache", Trigger::Schedule),
            ("scheduled checks again (within the TTL)", Trigger::Schedule),
            ("manual checks (reuse answers < 60 s)", Trigger::Manual),
        ] {
            let r = round(&state, &names, trigger).await;
            let log = r
                .log
                .map_or_else(|| "n/a".to_owned(), |(h, g)| format!("{h}/{g}"));
            println!(
                "{label:<44} {:>9.1?} {:>5} {:>4} {:>6} {:>5} {:>8} {:>14}",
                r.wall, r.head, r.get, r.token, r.hits, r.updates, log
            );
        }
        println!("targets: wall < 2 s; 0 GET when nothing changed; 1 HEAD per distinct image within the TTL");
        state.db.close().await;
    });

    for image in &images {
        let _ = Command::new(DOCKER).args(["rmi", image]).output();
    }
    drop(db);
}
