//! Schedules with an injected clock: validation, DST-aware next runs, exactly-once across two
//! replicas on one database, grace windows, and the scheduled run itself against the registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use sdmd::schedule;
use serde_json::json;
use support::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn schedules_run_exactly_once_across_replicas() {
    with_db(|pool| async move {
        let app = TestApp::new(pool.clone()).await;
        let name = unique("sched");
        let image = format!("{REGISTRY}/sdmdtest/{name}/app:latest");
        build_http_image(&image, "v1", "");
        let yaml = format!("name: {name}\nservices:\n  web:\n    image: {image}\n    init: true\n");
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;

        // Validation: every bad field at once, nothing stored.
        let (s, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/services/{name}/schedule"),
                Some((
                    "application/json",
                    json!({"enabled": true, "frequency": "weekly", "weekday": "xyz", "time": "24:61",
                           "timezone": "Nowhere/City", "mode": "check"})
                    .to_string(),
                )),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
            "{v}"
        );
        let fields: Vec<&str> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["weekday", "time", "timezone"]);
        let (_, v) = app.get(&format!("/api/v1/services/{name}/schedule")).await;
        assert_eq!(v["enabled"], false, "default schedule is disabled: {v}");
        let (s, v) = app.get("/api/v1/services/nope/schedule").await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("service_not_found"))
        );

        // A weekly check on Mondays 04:15 Berlin time.
        let body = json!({"enabled": true, "frequency": "weekly", "weekday": "mon", "time": "04:15",
                          "timezone": "Europe/Berlin", "mode": "check"});
        let (s, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/services/{name}/schedule"),
                Some(("application/json", body.to_string())),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["next_run"].is_string(), "{v}");
        assert_eq!(
            app.listed(&name).await.unwrap()["schedule"]["weekday"],
            "mon"
        );

        // The schedule was stored "now"; due times before that never run. Move its stored time
        // back so the injected clock below sees a due run after it.
        sqlx::query("update schedules set updated_at = '2026-01-01T00:00:00Z' where service = $1")
            .bind(&name)
            .execute(&pool)
            .await
            .unwrap();

        // Two replicas (separate states and pools, one database) tick at the same instant.
        let replica_b = TestApp::new(pool.clone()).await;
        let now = utc("2026-11-30T03:20:00Z"); // Monday 04:20 in Berlin: 5 minutes late.
        let (a, b) = tokio::join!(
            schedule::tick(&app.state, "replica-a", now),
            schedule::tick(&replica_b.state, "replica-b", now)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let won: Vec<_> = a
            .iter()
            .chain(b.iter())
            .filter(|d| d.service == name)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "exactly one replica claims the due run: {a:?} {b:?}"
        );
        assert_eq!(won[0].due, utc("2026-11-30T03:15:00Z"));
        assert_eq!(won[0].mode.as_str(), "check");
        schedule::run_due(&app.state, won[0]).await;

        // Later ticks for the same due time do nothing; nor does a tick past the grace window.
        for t in ["2026-11-30T03:21:00Z", "2026-11-30T03:59:00Z"] {
            let again = schedule::tick(&app.state, "replica-a", utc(t))
                .await
                .unwrap();
            assert!(again.iter().all(|d| d.service != name), "{again:?}");
        }
        let late = schedule::tick(&replica_b.state, "replica-b", utc("2026-12-07T05:16:00Z"))
            .await
            .unwrap();
        assert!(
            late.iter().all(|d| d.service != name),
            "a run missed by more than the grace window is skipped"
        );

        // The scheduled check is in the history and the audit log, as the scheduler.
        let (_, history) = app.get(&format!("/api/v1/services/{name}/updates")).await;
        assert_eq!(history[0]["trigger"], "schedule", "{history}");
        assert_eq!(history[0]["kind"], "check");
        assert_eq!(history[0]["result"], "up_to_date");
        assert_eq!(history[0]["actor"], "scheduler");
        let (_, audit) = app
            .get(&format!("/api/v1/audit?target={name}&actor=scheduler"))
            .await;
        assert_eq!(audit["entries"][0]["action"], "service.check");
        let (_, audit) = app
            .get(&format!(
                "/api/v1/audit?target={name}&action=service.schedule"
            ))
            .await;
        assert_eq!(
            audit["entries"].as_array().unwrap().len(),
            1,
            "the rejected PUT was not audited"
        );
        app.cleanup(&name).await;
    });
}

/// A service with a daily check schedule that was due two minutes ago (UTC) and stored a day
/// ago, so a scheduler starting now finds a missed run within the grace window.
async fn with_missed_schedule(app: &TestApp, pool: &sqlx::PgPool, prefix: &str) -> String {
    let name = unique(prefix);
    let image = format!("{REGISTRY}/sdmdtest/{name}/app:latest");
    build_http_image(&image, "v1", "");
    let yaml = format!("name: {name}\nservices:\n  web:\n    image: {image}\n");
    assert_eq!(
        app.post_yaml("/api/v1/services", &yaml).await.0,
        StatusCode::CREATED
    );
    let time = (chrono::Utc::now() - chrono::Duration::minutes(2)).format("%H:%M");
    let body = json!({"enabled": true, "frequency": "daily", "time": time.to_string(),
                      "timezone": "UTC", "mode": "check"});
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/services/{name}/schedule"),
            Some(("application/json", body.to_string())),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sqlx::query("update schedules set updated_at = now() - interval '1 day' where service = $1")
        .bind(&name)
        .execute(pool)
        .await
        .unwrap();
    name
}

/// The tokio-cron-scheduler driver itself: a run missed a minute ago (within the grace window)
/// starts when the driver starts, once, and the driver stops with the server's shutdown.
#[test]
fn the_driver_runs_a_missed_schedule_once_at_start() {
    with_db(|pool| async move {
        let app = TestApp::new(pool.clone()).await;
        let name = with_missed_schedule(&app, &pool, "drv").await;

        let driver = tokio::spawn(schedule::run(app.state.clone()));
        let history = eventually(Duration::from_secs(20), "the scheduled check", || async {
            let (_, h) = app.get(&format!("/api/v1/services/{name}/updates")).await;
            (h[0]["trigger"] == "schedule" && h[0]["result"] != "running").then_some(h)
        })
        .await;
        assert_eq!(history[0]["kind"], "check", "{history}");
        app.state.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), driver)
            .await
            .expect("the driver stops on shutdown")
            .unwrap();
        let (_, history) = app.get(&format!("/api/v1/services/{name}/updates")).await;
        assert_eq!(
            history.as_array().unwrap().len(),
            1,
            "exactly one run: {history}"
        );
        app.cleanup(&name).await;
    });
}

/// Two real `sdmd serve` processes on one database, both starting with a run missed a minute ago
/// (inside the grace window): it runs exactly once, claimed by one of them.
#[test]
fn two_sdmd_processes_run_a_due_schedule_once() {
    with_db(|pool| async move {
        let app = TestApp::new(pool.clone()).await;
        let name = with_missed_schedule(&app, &pool, "twoproc").await;

        let url = support::db::url_of(&pool).await;
        let data: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut servers: Vec<support::process::Server> = data
            .iter()
            .map(|dir| {
                support::process::Server::spawn(
                    support::process::serve_command(
                        env!("CARGO_BIN_EXE_sdmd"),
                        dir.path(),
                        free_port(),
                    )
                    .env_remove("DOCKER_HOST")
                    .env("DATABASE_URL", &url)
                    .env("SDMD_TLS", "off")
                    .env("SDMD_ADMIN_EMAIL", "admin@example.com")
                    .env("SDMD_ADMIN_PASSWORD", "two-process-password")
                    .env("RUST_LOG", "info"),
                )
            })
            .collect();
        let logs = |data: &[tempfile::TempDir]| {
            data.iter()
                .map(|d| std::fs::read_to_string(d.path().join("server.log")).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n---\n")
        };
        let claimed_by: String = eventually(Duration::from_secs(60), "the claim", || async {
            sqlx::query_scalar("select claimed_by from schedule_claims where service = $1")
                .bind(&name)
                .fetch_optional(&pool)
                .await
                .unwrap()
        })
        .await;
        eventually(Duration::from_secs(30), "the scheduled check", || async {
            let (_, h) = app.get(&format!("/api/v1/services/{name}/updates")).await;
            (h[0]["trigger"] == "schedule" && h[0]["result"] != "running").then_some(())
        })
        .await;
        // Both processes are up and have swept by now (each sweeps once at start).
        for (i, server) in servers.iter_mut().enumerate() {
            assert!(
                server.child().try_wait().unwrap().is_none(),
                "sdmd {i} exited: {}",
                logs(&data)
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (_, history) = app.get(&format!("/api/v1/services/{name}/updates")).await;
        let runs = history.as_array().unwrap().len();
        let claims: i64 =
            sqlx::query_scalar("select count(*) from schedule_claims where service = $1")
                .bind(&name)
                .fetch_one(&pool)
                .await
                .unwrap();
        drop(servers);
        assert_eq!((runs, claims), (1, 1), "{history}\n{}", logs(&data));
        assert!(!claimed_by.is_empty());
        app.cleanup(&name).await;
    });
}

#[test]
fn unknown_frequency_or_mode_is_a_422_naming_the_field() {
    with_db(|pool| async move {
        let app = TestApp::new(pool.clone()).await;
        // Validation comes first: no service is needed to be told what is wrong with the body.
        let (s, v) = app
            .call(
                Method::PUT,
                "/api/v1/services/nope/schedule",
                Some((
                    "application/json",
                    json!({"enabled": true, "frequency": "hourly", "time": "03:00",
                           "timezone": "UTC", "mode": "upgrade"})
                    .to_string(),
                )),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
            "{v}"
        );
        let fields: Vec<&str> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["frequency", "mode"], "{v}");
    });
}
