//! Hot paths from memory (issue 12, item 7): the principal cache and the services list's cache,
//! invalidated across replicas through PostgreSQL LISTEN/NOTIFY. "Replicas" here are two apps in
//! this process with separate pools on one database, each with its own caches and listener.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, StatusCode};
use sdmd::state::AppState;
use serde_json::json;
use sqlx::PgPool;

use support::auth::{admin_token, app};
use support::http::{Resp, call};
use support::wait::eventually;

/// Revocation must reach every replica within this.
const BOUND: Duration = Duration::from_secs(1);

/// A second replica: its own pool on `pool`'s database, its own caches and listener.
async fn replica(pool: &PgPool) -> (AppState, Router) {
    let url = support::db::url_of(pool).await;
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .connect(&url)
        .await
        .unwrap();
    support::auth::app_with(own, sdmd::auth::Auth::builtin())
}

/// Starts the listener of `state` and waits until its caches are on.
async fn listening(state: &AppState) {
    state.spawn_invalidation();
    eventually(
        Duration::from_secs(10),
        "the invalidation listener",
        || async { (state.auth.principals.is_live() && state.hot.is_live()).then_some(()) },
    )
    .await;
}

async fn get(router: &Router, uri: &str, bearer: &str) -> Resp {
    call(router, Method::GET, uri, Some(bearer), &[], None).await
}

/// Polls `uri` on `router` with `bearer` until it answers 401; returns how long that took.
async fn refused_within(router: &Router, bearer: &str, bound: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let r = get(router, "/api/v1/tokens", bearer).await;
        if r.status == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            start.elapsed() < bound,
            "still admitted {:?} after the change (bound {bound:?})",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn new_token(
    router: &Router,
    jwt: &str,
    name: &str,
    expires_at: Option<String>,
) -> (String, String) {
    let r = call(
        router,
        Method::POST,
        "/api/v1/tokens",
        Some(jwt),
        &[],
        Some(json!({"name": name, "expires_at": expires_at})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Admits `bearer` on `router` and checks it is now cached in `state`.
async fn admitted_and_cached(state: &AppState, router: &Router, bearer: &str) {
    let before = state.auth.principals.len();
    for _ in 0..2 {
        let r = get(router, "/api/v1/tokens", bearer).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert!(
        state.auth.principals.len() > before,
        "the credential was not cached"
    );
}

#[test]
fn token_revoked_on_one_replica_is_refused_on_the_other_within_a_second() {
    support::with_db(|pool| async move {
        let (a, router_a) = app(pool.clone()).await;
        let (b, router_b) = replica(&pool).await;
        listening(&a).await;
        listening(&b).await;
        let jwt = admin_token(&router_a).await;
        let (id, secret) = new_token(&router_a, &jwt, "ci", None).await;
        admitted_and_cached(&b, &router_b, &secret).await;

        let r = call(
            &router_a,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&jwt),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        let took = refused_within(&router_b, &secret, BOUND).await;
        eprintln!("token refused on the other replica after {took:?}");
        // And at once on the replica that revoked it.
        assert_eq!(
            get(&router_a, "/api/v1/tokens", &secret).await.status,
            StatusCode::UNAUTHORIZED
        );
    });
}

#[test]
fn session_signed_out_on_one_replica_is_refused_on_the_other_within_a_second() {
    support::with_db(|pool| async move {
        let (a, router_a) = app(pool.clone()).await;
        let (b, router_b) = replica(&pool).await;
        listening(&a).await;
        listening(&b).await;
        let jwt = admin_token(&router_a).await;
        admitted_and_cached(&b, &router_b, &jwt).await;
        admitted_and_cached(&a, &router_a, &jwt).await;

        let r = call(
            &router_a,
            Method::POST,
            "/auth/v1/logout?scope=global",
            Some(&jwt),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        assert_eq!(
            get(&router_a, "/api/v1/tokens", &jwt).await.status,
            StatusCode::UNAUTHORIZED
        );
        let took = refused_within(&router_b, &jwt, BOUND).await;
        eprintln!("session refused on the other replica after {took:?}");

        // A password change made outside any server (the CLI's path) ends sessions everywhere.
        let jwt = admin_token(&router_a).await;
        admitted_and_cached(&b, &router_b, &jwt).await;
        sdmd::auth::builtin::set_password(
            &pool,
            &sdmd::db::audit::AuditContext::system(),
            support::auth::ADMIN,
            "another long password",
        )
        .await
        .unwrap();
        refused_within(&router_b, &jwt, BOUND).await;
    });
}

#[test]
fn expiry_is_honoured_from_the_cache() {
    support::with_db(|pool| async move {
        let (a, router_a) = app(pool.clone()).await;
        listening(&a).await;
        let jwt = admin_token(&router_a).await;
        let expires = chrono::Utc::now() + chrono::Duration::seconds(2);
        let (_, secret) = new_token(&router_a, &jwt, "short", Some(expires.to_rfc3339())).await;
        admitted_and_cached(&a, &router_a, &secret).await;
        // Refused once it expired, though nothing notified the cache.
        let until_refused = refused_within(&router_a, &secret, Duration::from_secs(4)).await;
        assert!(
            chrono::Utc::now() >= expires - chrono::Duration::milliseconds(50),
            "refused before it expired"
        );
        eprintln!("expired token refused after {until_refused:?}");
    });
}

#[test]
fn changes_while_the_listener_is_down_are_not_missed() {
    support::with_db(|pool| async move {
        let (a, router_a) = app(pool.clone()).await;
        let (b, router_b) = replica(&pool).await;
        listening(&a).await;
        listening(&b).await;
        let jwt = admin_token(&router_a).await;
        let (_, first) = new_token(&router_a, &jwt, "first", None).await;
        admitted_and_cached(&b, &router_b, &first).await;

        // Drop every listener's connection, then revoke by hand: that notification may reach
        // nobody. The caches go off and come back empty.
        let killed: Vec<bool> = sqlx::query_scalar(
            "select pg_terminate_backend(pid) from pg_stat_activity
             where datname = current_database() and query ilike '%listen%' and pid <> pg_backend_pid()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(
            killed.len() >= 2,
            "expected both listeners, found {}",
            killed.len()
        );
        sqlx::query("update api_tokens set revoked_at = now() where name = 'first'")
            .execute(&pool)
            .await
            .unwrap();
        refused_within(&router_b, &first, BOUND).await;

        // Reconnected: caching and eviction work again.
        eventually(
            Duration::from_secs(10),
            "the listener to reconnect",
            || async { b.auth.principals.is_live().then_some(()) },
        )
        .await;
        let (id, second) = new_token(&router_a, &jwt, "second", None).await;
        admitted_and_cached(&b, &router_b, &second).await;
        let r = call(
            &router_a,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&jwt),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        refused_within(&router_b, &second, BOUND).await;
    });
}

fn etag(r: &Resp) -> String {
    r.headers
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_services_list_has_an_etag_that_moves_with_its_inputs_and_answers_304() {
    support::with_db(|pool| async move {
        let app = support::TestApp::new(pool.clone()).await;
        listening(&app.state).await;
        let list = || get(&app.router, "/api/v1/services", &app.token);
        let first = list().await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let tag = etag(&first);
        let again = list().await;
        assert_eq!(etag(&again), tag, "the tag moved with nothing changed");
        assert_eq!(again.body, first.body);
        let not_modified = call(
            &app.router,
            Method::GET,
            "/api/v1/services",
            Some(&app.token),
            &[("if-none-match", &tag)],
            None,
        )
        .await;
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
        assert_eq!(etag(&not_modified), tag);
        assert_eq!(not_modified.body, serde_json::Value::Null);

        // A stored definition: the next answer has it (read your own writes) under a new tag.
        let name = support::unique("etag");
        let yaml = format!(
            "name: {name}\nservices:\n  app:\n    image: local/busybox:1\n    init: true\n    command: [\"sleep\", \"300\"]\n    labels: {{sdmd.test: \"1\"}}\n"
        );
        assert_eq!(
            app.post_yaml("/api/v1/services", &yaml).await.0,
            StatusCode::CREATED
        );
        let stored = list().await;
        let stored_tag = etag(&stored);
        assert_ne!(stored_tag, tag);
        assert!(
            stored.body["services"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == name.as_str())
        );
        let stale = call(
            &app.router,
            Method::GET,
            "/api/v1/services",
            Some(&app.token),
            &[("if-none-match", &tag)],
            None,
        )
        .await;
        assert_eq!(
            stale.status,
            StatusCode::OK,
            "an old tag must not answer 304"
        );

        // A deploy: containers appear.
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await;
        let deployed = list().await;
        let deployed_tag = etag(&deployed);
        assert_ne!(deployed_tag, stored_tag);
        assert_eq!(app.listed(&name).await.unwrap()["status"], "running");

        // A container state change outside sdmd: the tag moves once the engine's event arrives.
        support::docker(&["stop", "-t", "0", &format!("{name}-app")]);
        let stopped_tag = eventually(
            Duration::from_secs(5),
            "a new tag after the stop",
            || async {
                let t = etag(&list().await);
                (t != deployed_tag).then_some(t)
            },
        )
        .await;

        // A change made elsewhere (another replica, by hand) reaches the list through NOTIFY.
        sqlx::query("update services set updated_at = now() + interval '1 minute' where name = $1")
            .bind(&name)
            .execute(&pool)
            .await
            .unwrap();
        let start = Instant::now();
        eventually(
            BOUND,
            "a new tag after a change in the database",
            || async { (etag(&list().await) != stopped_tag).then_some(()) },
        )
        .await;
        eprintln!("definition change seen after {:?}", start.elapsed());
        app.cleanup(&name).await;
    });
}
