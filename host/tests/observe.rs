//! Observability against the real engine and PostgreSQL: the sampler's figures from the cgroup
//! files (a CPU burner, a 64 MiB allocation) and the Engine fallback (the sampler pointed at an
//! empty root); the history of a failing healthcheck, `docker kill` and an OOM kill, recorded
//! once by two replicas; the rollup job run by two replicas at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use sdmd::observe::{Observed, StatsConfig};
use sdmd_engine::stats::{Reader, Roots};
use serde_json::Value;
use support::wait::eventually;
use support::*;

/// Starts a labelled busybox container and returns its name.
fn run(prefix: &str, extra: &[&str], cmd: &str) -> String {
    let name = unique(prefix);
    let mut args = vec!["run", "-d", "--name", &name, "--label", "sdmd.test=1"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["local/busybox:1", "sh", "-c", cmd]);
    docker(&args);
    name
}

fn rm(names: &[&str]) {
    for n in names {
        docker_ok(&["rm", "-f", "-v", n]);
    }
}

fn stats_config(interval_s: u64) -> StatsConfig {
    StatsConfig {
        interval: Some(Duration::from_secs(interval_s)),
        ..StatsConfig::default()
    }
}

/// The app with the sampler running every second.
async fn sampling_app(pool: sqlx::PgPool) -> TestApp {
    let app = TestApp::new_with(pool, |s| {
        s.observed = Arc::new(Observed::new(stats_config(1)));
    })
    .await;
    app.state.spawn_observability();
    app
}

fn container_of<'a>(stats: &'a Value, name: &str) -> Option<&'a Value> {
    stats["containers"]
        .as_array()?
        .iter()
        .find(|c| c["container"] == name)
}

#[sqlx::test(migrations = "../migrations")]
async fn cpu_and_memory_from_cgroup_files_and_the_engine_fallback(pool: sqlx::PgPool) {
    let app = sampling_app(pool).await;
    let burner = run("burn", &[], "while :; do :; done");
    // 64 MiB in tmpfs (charged to the container's memory cgroup, not page cache that can be
    // dropped), then idle.
    let hog = run(
        "hog",
        &["--shm-size", "128m"],
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; sleep 3600",
    );
    let (b, h) = (burner.clone(), hog.clone());
    let result = std::panic::AssertUnwindSafe(async {
        // The first reading comes two rounds after the container is first seen (a rate needs
        // two readings); on a machine busy with other work the burner may get less than a core
        // for a round, so the figure is awaited for a few more rounds.
        let first = std::time::Instant::now();
        eventually(Duration::from_secs(5), "a first CPU reading of the burner", || {
            let app = &app;
            let b = b.clone();
            async move {
                let latest = app.state.observed.latest().await;
                latest.iter().any(|l| l.container == b).then_some(())
            }
        })
        .await;
        let cpu = eventually(Duration::from_secs(20), "the burner above half a core", || {
            let app = &app;
            let b = b.clone();
            async move {
                let latest = app.state.observed.latest().await;
                latest
                    .iter()
                    .find(|l| l.container == b && l.reading.cpu_percent > 50.0)
                    .map(|l| l.reading.cpu_percent)
            }
        })
        .await;
        eprintln!(
            "burner: {cpu:.1} % of a core, {:?} after the first round that saw it",
            first.elapsed()
        );
        let mem = eventually(Duration::from_secs(15), "64 MiB in the hog", || {
            let app = &app;
            let h = h.clone();
            async move {
                let latest = app.state.observed.latest().await;
                latest
                    .iter()
                    .find(|l| l.container == h && l.reading.memory_bytes >= 64 << 20)
                    .map(|l| l.reading.memory_bytes)
            }
        })
        .await;
        assert!(mem < 96 << 20, "the hog shows {mem} bytes");
        assert_eq!(
            app.state.observed.source(),
            sdmd_model::observe::StatsSource::Cgroup
        );

        // Stored, and served per container through the API.
        let uri = format!("/api/v1/services/container:{b}/stats?step=1");
        let stats = eventually(Duration::from_secs(10), "stored samples", || {
            let app = &app;
            let uri = uri.clone();
            let b = b.clone();
            async move {
                let (status, v) = app.get(&uri).await;
                assert_eq!(status, 200, "{v}");
                let n = container_of(&v, &b)?["samples"].as_array()?.len();
                (n >= 2).then_some(v)
            }
        })
        .await;
        assert_eq!(stats["resolution"], "raw");
        assert_eq!(stats["source"], "cgroup");
        let samples = container_of(&stats, &b).unwrap()["samples"]
            .as_array()
            .unwrap();
        assert!(
            samples
                .iter()
                .any(|s| s["cpu_percent"].as_f64().unwrap() > 50.0),
            "{samples:?}"
        );
        // Network counters come from the container's own /proc/<pid>/net/dev.
        assert!(samples[0]["net_rx_bytes_per_s"].is_number(), "{:?}", samples[0]);

        // The host overview and Prometheus.
        let (_, host) = app.get("/api/v1/stats").await;
        assert!(host["host_cpus"].as_u64().unwrap() >= 1);
        assert!(host["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service"] == format!("container:{b}")));
        let (_, metrics) = app.get("/metrics").await;
        let metrics = metrics.as_str().unwrap().to_owned();
        assert!(
            metrics.contains(&format!(
                "sdmd_container_cpu_seconds_total{{service=\"container:{b}\",member=\"{b}\",container=\"{b}\"}}"
            )),
            "{metrics}"
        );
        assert!(metrics.contains("sdmd_stats_source{source=\"cgroup\"} 1"));
        assert!(metrics.contains(&format!("sdmd_container_up{{service=\"container:{h}\"")));

        // Live samples on the events stream: only to a subscriber who asks, only the service
        // it names.
        let read_sse = |uri: String| {
            let app = &app;
            async move {
                let resp = app
                    .raw(
                        axum::http::Request::builder()
                            .uri(uri)
                            .body(axum::body::Body::empty())
                            .unwrap(),
                    )
                    .await;
                let mut body = resp.into_body();
                let mut seen = String::new();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
                while let Ok(Some(Ok(f))) = tokio::time::timeout_at(deadline, body.frame()).await {
                    if let Some(d) = f.data_ref() {
                        seen.push_str(&String::from_utf8_lossy(d));
                    }
                }
                seen
            }
        };
        let (asked, plain) = tokio::join!(
            read_sse(format!("/api/v1/events?stats=container:{b}")),
            read_sse("/api/v1/events".to_owned())
        );
        assert!(asked.contains("event: stats"), "{asked}");
        assert!(asked.contains(&format!("\"container\":\"{b}\"")), "{asked}");
        assert!(!asked.contains(&format!("\"container\":\"{h}\"")), "{asked}");
        assert!(!plain.contains("event: stats"), "{plain}");

        // The fallback: the same reader pointed at an empty root reads through the Engine.
        let ids: Vec<String> = [&b, &h]
            .iter()
            .map(|n| docker(&["inspect", "-f", "{{.Id}}", n]).trim().to_owned())
            .collect();
        let empty = std::env::temp_dir().join(format!("sdmd-empty-root-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let mut engine = Reader::new(
            sdmd::docker::Docker::new(None),
            Roots {
                cgroup: empty.clone(),
                proc: empty.clone(),
            },
            false,
        );
        let mut cgroup = Reader::new(sdmd::docker::Docker::new(None), Roots::default(), false);
        let (e1, source) = engine.read(&ids).await;
        assert_eq!(source, sdmd_model::observe::StatsSource::Engine);
        let (c1, source) = cgroup.read(&ids).await;
        assert_eq!(source, sdmd_model::observe::StatsSource::Cgroup);
        let t0 = std::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (e2, _) = engine.read(&ids).await;
        let (c2, _) = cgroup.read(&ids).await;
        let secs = t0.elapsed().as_secs_f64();
        let by = |v: &[(String, sdmd_model::observe::Counters)], id: &str| {
            v.iter().find(|(i, _)| i == id).unwrap().1
        };
        // Memory of the hog: the same figure within 10 %.
        let (em, cm) = (by(&e1, &ids[1]).memory_used(), by(&c1, &ids[1]).memory_used());
        assert!(
            (em as f64 - cm as f64).abs() < cm as f64 * 0.1,
            "engine {em} vs cgroup {cm}"
        );
        assert_eq!(by(&e1, &ids[1]).pids, by(&c1, &ids[1]).pids);
        // CPU of the burner over the same two seconds: the same within 10 points of a core.
        // (The Engine's counters are rated over the times it took them.)
        let cpu = |a: &[(String, sdmd_model::observe::Counters)], b: &[(String, sdmd_model::observe::Counters)]| {
            let (a, b) = (by(a, &ids[0]), by(b, &ids[0]));
            let secs = b.seconds_since(&a).unwrap_or(secs);
            sdmd_model::observe::derive(&ids[0], &a, &b, secs, 0).cpu_percent
        };
        assert!(by(&e2, &ids[0]).read_at_ns.is_some(), "the Engine's read time");
        let (ec, cc) = (cpu(&e1, &e2), cpu(&c1, &c2));
        assert!(cc > 10.0, "the burner burns: {cc:.1}");
        assert!((ec - cc).abs() < 10.0, "engine CPU {ec:.1} vs cgroup {cc:.1}");
        let _ = std::fs::remove_dir_all(&empty);
    })
    .catch_unwind_safe()
    .await;
    rm(&[&burner, &hog]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

use support::wait::CatchUnwind;

/// Transitions of `container` recorded in the database (kind, to, exit code, oom, probe).
async fn recorded(
    pool: &sqlx::PgPool,
    container: &str,
) -> Vec<(String, String, Option<i64>, bool, Option<String>)> {
    sqlx::query_as(
        "select kind, to_value, exit_code, oom_killed, probe_output from container_transitions \
         where container = $1 order by at, at_nanos",
    )
    .bind(container)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn history_of_health_kill_and_oom_recorded_once_by_two_replicas(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    // A second replica on the same database, with its own watcher and recorder.
    let replica = TestApp::with_docker(pool.clone(), sdmd::docker::Docker::new(None), true).await;
    let sick = run(
        "sick",
        &[
            "--health-cmd",
            "if [ -f /tmp/bad ]; then echo probe says no; exit 1; fi",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--health-timeout",
            "2s",
        ],
        "sleep 3600",
    );
    let killed = run("killed", &[], "sleep 3600");
    let (s, k) = (sick.clone(), killed.clone());
    let pool2 = pool.clone();
    let mut oom = String::new();
    let result = std::panic::AssertUnwindSafe(async {
        eventually(Duration::from_secs(20), "healthy", || async {
            (inspect(&s)["State"]["Health"]["Status"] == "healthy").then_some(())
        })
        .await;
        docker(&["exec", &s, "sh", "-c", ": > /tmp/bad"]);
        docker(&["kill", &k]);
        oom = run(
            "oom",
            &["--memory", "16m", "--memory-swap", "16m", "--shm-size", "128m"],
            // The allocator is PID 1: the OOM killer ends the container, not a child.
            "exec dd if=/dev/zero of=/dev/shm/fill bs=1M count=64",
        );
        let o = oom.clone();
        let rows = eventually(Duration::from_secs(20), "the unhealthy verdict", || {
            let (pool, s) = (pool2.clone(), s.clone());
            async move {
                let rows = recorded(&pool, &s).await;
                rows.iter()
                    .any(|r| r.0 == "health" && r.1 == "unhealthy")
                    .then_some(rows)
            }
        })
        .await;
        let unhealthy: Vec<_> = rows.iter().filter(|r| r.1 == "unhealthy").collect();
        assert_eq!(unhealthy.len(), 1, "recorded once by two replicas: {rows:?}");
        assert_eq!(unhealthy[0].4.as_deref(), Some("probe says no"), "{rows:?}");
        assert_eq!(
            rows.iter().filter(|r| r.1 == "healthy").count(),
            1,
            "{rows:?}"
        );

        let rows = eventually(Duration::from_secs(20), "the kill", || {
            let (pool, k) = (pool2.clone(), k.clone());
            async move {
                let rows = recorded(&pool, &k).await;
                rows.iter().any(|r| r.1 == "exited").then_some(rows)
            }
        })
        .await;
        let exits: Vec<_> = rows.iter().filter(|r| r.1 == "exited").collect();
        assert_eq!(exits.len(), 1, "{rows:?}");
        assert_eq!(exits[0].2, Some(137), "{rows:?}");
        assert!(!exits[0].3, "a kill is no OOM kill: {rows:?}");

        let rows = eventually(Duration::from_secs(30), "the OOM kill", || {
            let (pool, o) = (pool2.clone(), o.clone());
            async move {
                let rows = recorded(&pool, &o).await;
                rows.iter().any(|r| r.1 == "exited").then_some(rows)
            }
        })
        .await;
        let exits: Vec<_> = rows.iter().filter(|r| r.1 == "exited").collect();
        assert_eq!(exits.len(), 1, "{rows:?}");
        assert!(exits[0].3, "the OOM flag: {rows:?}");

        // The API: transitions with their fields, uptime and the last failure.
        let (status, h) = app
            .get(&format!("/api/v1/services/container:{s}/history"))
            .await;
        assert_eq!(status, 200, "{h}");
        let t = h["transitions"].as_array().unwrap();
        let bad = t
            .iter()
            .find(|t| t["to"] == "unhealthy")
            .unwrap_or_else(|| panic!("{h}"));
        assert_eq!(bad["from"], "healthy");
        assert_eq!(bad["kind"], "health");
        assert_eq!(bad["container"], s.as_str());
        assert_eq!(bad["member"], s.as_str());
        assert_eq!(bad["probe_output"], "probe says no");
        assert_eq!(h["last_failure"]["to"], "unhealthy");
        assert_eq!(h["uptime"].as_array().unwrap().len(), 3);
        assert_eq!(h["uptime"][0]["window_seconds"], 86_400);
        let (_, h) = app
            .get(&format!("/api/v1/services/container:{k}/history"))
            .await;
        let exit = h["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["to"] == "exited")
            .unwrap_or_else(|| panic!("{h}"));
        assert_eq!(exit["exit_code"], 137);
        assert_eq!(exit["from"], "running");
        assert_eq!(h["last_failure"]["exit_code"], 137);
        // Bad input: a clear 400, and an unknown service 404.
        let (status, e) = app
            .get(&format!(
                "/api/v1/services/container:{k}/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"
            ))
            .await;
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["code"], "invalid_range");
        let (status, _) = app.get("/api/v1/services/no-such-service/history").await;
        assert_eq!(status, 404);
        drop(replica);
    })
    .catch_unwind_safe()
    .await;
    rm(&[&sick, &killed, &oom]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn rollup_runs_once_across_two_replicas(pool: sqlx::PgPool) {
    use sdmd::db::observe::{SampleRow, insert_round, rollup};
    // Two hours of 10-second samples of one container, and one sample older than a day.
    let row = |cpu: f64| SampleRow {
        container_id: "c0ffee".into(),
        service: "web".into(),
        member: "app".into(),
        container: "web-app-1".into(),
        cpu_percent: cpu,
        memory_bytes: 1 << 20,
        memory_limit_bytes: 1 << 30,
        net_rx_bytes_per_s: None,
        net_tx_bytes_per_s: Some(10.0),
        block_read_bytes_per_s: 0.0,
        block_write_bytes_per_s: 0.0,
        pids: 1,
    };
    let now = chrono::Utc::now();
    let start = now - chrono::TimeDelta::hours(2);
    let start = start - chrono::TimeDelta::seconds(start.timestamp() % 900);
    let mut n = 0;
    let mut at = start;
    while at < now - chrono::TimeDelta::minutes(1) {
        // 10 % in even rounds, 30 % in odd ones: each minute averages 20 %, peaks at 30 %.
        insert_round(&pool, at, &[row(if n % 2 == 0 { 10.0 } else { 30.0 })])
            .await
            .unwrap();
        n += 1;
        at += chrono::TimeDelta::seconds(10);
    }
    insert_round(&pool, now - chrono::TimeDelta::hours(30), &[row(1.0)])
        .await
        .unwrap();
    // A second "process": its own pool on the same database.
    let url = support::db::url_of(&pool).await;
    let other = sqlx::PgPool::connect(&url).await.unwrap();
    for _ in 0..3 {
        let (a, b) = tokio::join!(rollup(&pool, "a", 90), rollup(&other, "b", 90));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(!(a.ran && b.ran && (a.minute_rows > 0 && b.minute_rows > 0)));
    }
    let minutes: i64 = sqlx::query_scalar("select count(*) from container_samples_1m")
        .fetch_one(&pool)
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar("select count(distinct at) from container_samples_1m")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(minutes, distinct, "each minute once");
    assert!(minutes >= 110, "{minutes} minutes rolled up");
    let (avg, max, tx): (f32, f32, Option<f32>) = sqlx::query_as(
        "select cpu_percent, cpu_percent_max, net_tx_bytes_per_s from container_samples_1m \
         where samples = 6 limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (avg - 20.0).abs() < 0.01 && (max - 30.0).abs() < 0.01,
        "{avg} {max}"
    );
    assert_eq!(tx, Some(10.0));
    // Windows never overlap: each minute and quarter was rolled up by exactly one run.
    let overlaps: i64 = sqlx::query_scalar(
        "select count(*) from stats_rollup_runs a join stats_rollup_runs b \
         on a.resolution = b.resolution and a.window_end <> b.window_end \
         and a.window_start < b.window_end and b.window_start < a.window_end",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(overlaps, 0);
    let quarters: i64 = sqlx::query_scalar("select count(*) from container_samples_15m")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(quarters >= 7, "{quarters} quarter hours");
    let q_avg: f32 = sqlx::query_scalar(
        "select cpu_percent from container_samples_15m where samples = 90 limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((q_avg - 20.0).abs() < 0.01, "{q_avg}");
    // The day-old raw sample is gone; the recent ones stay.
    let old: i64 = sqlx::query_scalar(
        "select count(*) from container_samples where at < now() - interval '24 hours'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(old, 0);
    // The stats API reads the minute table for a 2 h range at 60 s steps.
    let v = sdmd::db::observe::samples(
        &pool,
        "web",
        &[],
        start,
        now,
        60,
        sdmd_model::observe::Resolution::Minute,
    )
    .await
    .unwrap();
    assert_eq!(v.len(), 1);
    assert!(v[0].1.len() >= 110);
    other.close().await;
}

/// Two `sdmd serve` processes on one database: each transition of a container recorded once,
/// each rollup window rolled up once (the job made to run every 300 ms on both).
#[test]
fn two_sdmd_processes_record_once_and_roll_up_once() {
    use support::db::ScratchDb;
    use support::process::{Server, serve_command};
    support::docker::sweep_leftovers();
    let db = ScratchDb::create("sdmd_observe");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = rt.block_on(sqlx::PgPool::connect(&db.url)).unwrap();
    // An hour of old samples (two hours ago) for the job to roll up while both run, written before either
    // starts (a window behind the job's watermark is final: samples are written as they are
    // taken, never late).
    rt.block_on(sqlx::migrate!("../migrations").run(&pool))
        .unwrap();
    rt.block_on(async {
        let start = chrono::Utc::now() - chrono::TimeDelta::hours(2);
        for i in 0..360 {
            sdmd::db::observe::insert_round(
                &pool,
                start + chrono::TimeDelta::seconds(10 * i),
                &[sdmd::db::observe::SampleRow {
                    container_id: "feed".into(),
                    service: "old".into(),
                    member: "m".into(),
                    container: "old-m-1".into(),
                    cpu_percent: 5.0,
                    memory_bytes: 1,
                    memory_limit_bytes: 2,
                    net_rx_bytes_per_s: None,
                    net_tx_bytes_per_s: None,
                    block_read_bytes_per_s: 0.0,
                    block_write_bytes_per_s: 0.0,
                    pids: 1,
                }],
            )
            .await
            .unwrap();
        }
    });
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let mut servers: Vec<Server> = dirs
        .iter()
        .zip(&ports)
        .map(|(d, port)| {
            Server::spawn(
                serve_command(env!("CARGO_BIN_EXE_sdmd"), d.path(), *port)
                    .env("DATABASE_URL", &db.url)
                    .env("SDMD_TLS", "off")
                    .env("SDMD_STATS_INTERVAL", "1")
                    .env("SDMD_ROLLUP_EVERY_MS", "300")
                    .env("SDMD_ADMIN_EMAIL", "admin@example.com")
                    .env("SDMD_ADMIN_PASSWORD", "observe-test-password"),
            )
        })
        .collect();
    let http = reqwest::blocking::Client::new();
    for (s, port) in servers.iter_mut().zip(&ports) {
        let url = format!("http://127.0.0.1:{port}/healthz");
        s.wait_for(Duration::from_secs(60), "a healthy server", || {
            let v: Value = http.get(&url).send().ok()?.json().ok()?;
            (v["status"] == "ok").then_some(())
        });
    }
    let name = run("twice", &[], "sleep 3600");
    docker(&["stop", "-t", "0", &name]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = rt.block_on(recorded(&pool, &name));
            if rows.iter().any(|r| r.1 == "exited") && rows.iter().any(|r| r.1 == "running") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{rows:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Both have seen both events by now; give the slower one a moment.
        std::thread::sleep(Duration::from_secs(2));
        let rows = rt.block_on(recorded(&pool, &name));
        assert_eq!(
            rows.iter().filter(|r| r.1 == "running").count(),
            1,
            "{rows:?}"
        );
        assert_eq!(
            rows.iter().filter(|r| r.1 == "exited").count(),
            1,
            "{rows:?}"
        );
        let (minutes, distinct, runs, replicas): (i64, i64, i64, i64) = rt
            .block_on(
                sqlx::query_as(
                    "select (select count(*) from container_samples_1m), \
                     (select count(distinct (container_id, at)) from container_samples_1m), \
                     (select count(*) from stats_rollup_runs where resolution = '1m'), \
                     (select count(distinct replica) from stats_rollup_runs)",
                )
                .fetch_one(&pool),
            )
            .unwrap();
        assert!(minutes >= 59, "{minutes} minutes rolled up");
        assert_eq!(minutes, distinct, "a minute rolled up twice");
        assert!(runs >= 1 && replicas >= 1);
        let overlaps: i64 = rt
            .block_on(
                sqlx::query_scalar(
                    "select count(*) from stats_rollup_runs a join stats_rollup_runs b \
                     on a.resolution = b.resolution and a.window_end <> b.window_end \
                     and a.window_start < b.window_end and b.window_start < a.window_end",
                )
                .fetch_one(&pool),
            )
            .unwrap();
        assert_eq!(overlaps, 0, "two runs covered the same window");
    }));
    rm(&[&name]);
    rt.block_on(pool.close());
    for s in servers {
        s.terminate();
    }
    drop(db);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
