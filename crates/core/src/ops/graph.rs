//! Runs one step per member in dependency order, concurrently where the graph allows: a member
//! starts as soon as every member it depends on has finished its step, as docker compose's
//! `InDependencyOrder` (v2) and `parallel_execute` (1.29) do.
//!
//! A step that fails blocks its dependents (transitively), which are skipped; members without a
//! dependency path to the failure still run to the end, as in both compose versions. Nothing is
//! cancelled mid-step, so no half-created container is left behind.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

/// How many steps run at once at most (docker-compose 1.29's default `COMPOSE_PARALLEL_LIMIT`).
pub(crate) const PARALLEL_LIMIT: usize = 64;

/// What a traversal did.
pub(crate) struct Traversal<T, E> {
    /// Members whose step succeeded, with its result.
    pub done: HashMap<String, T>,
    /// Members whose step failed, in `order`.
    pub failed: Vec<(String, E)>,
    /// Members not run because something they depend on failed, in `order`.
    pub skipped: Vec<String>,
}

/// Runs `step` for each member of `order` (dependencies first) once all of its `deps` that are
/// in `order` have succeeded. `step` gets the results so far (which include every dependency's)
/// and returns the future to run; the future must own what it needs.
pub(crate) async fn in_dependency_order<T, E, F, Fut>(
    order: &[String],
    deps: &HashMap<String, Vec<String>>,
    limit: usize,
    mut step: F,
) -> Traversal<T, E>
where
    F: FnMut(&str, &HashMap<String, T>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let members: HashSet<&str> = order.iter().map(String::as_str).collect();
    let deps_of = |m: &str| -> Vec<&str> {
        deps.get(m)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|d| members.contains(d) && *d != m)
            .collect()
    };
    let mut done: HashMap<String, T> = HashMap::new();
    let mut failed: Vec<(String, E)> = Vec::new();
    let mut blocked: HashSet<String> = HashSet::new();
    let mut pending: Vec<&str> = order.iter().map(String::as_str).collect();
    let mut running = FuturesUnordered::new();
    loop {
        let mut i = 0;
        while i < pending.len() {
            let m = pending[i];
            let ds = deps_of(m);
            if ds.iter().any(|d| blocked.contains(*d)) {
                blocked.insert(m.to_owned());
                pending.remove(i);
                continue;
            }
            if running.len() < limit.max(1) && ds.iter().all(|d| done.contains_key(*d)) {
                running.push(named(m.to_owned(), step(m, &done)));
                pending.remove(i);
                continue;
            }
            i += 1;
        }
        if running.is_empty() && !pending.is_empty() {
            // Only a cycle leaves members waiting on nothing running (definitions are validated
            // acyclic): run the first as `start_order` would place it, rather than drop it.
            let m = pending.remove(0);
            running.push(named(m.to_owned(), step(m, &done)));
        }
        match running.next().await {
            Some((m, Ok(t))) => {
                done.insert(m, t);
            }
            Some((m, Err(e))) => {
                blocked.insert(m.clone());
                failed.push((m, e));
            }
            None => break,
        }
    }
    let position = |m: &str| order.iter().position(|o| o == m).unwrap_or(usize::MAX);
    failed.sort_by_key(|(m, _)| position(m));
    let failed_names: HashSet<&str> = failed.iter().map(|(m, _)| m.as_str()).collect();
    let skipped = order
        .iter()
        .filter(|m| blocked.contains(*m) && !failed_names.contains(m.as_str()))
        .cloned()
        .collect();
    Traversal {
        done,
        failed,
        skipped,
    }
}

async fn named<T, E>(
    name: String,
    fut: impl Future<Output = Result<T, E>>,
) -> (String, Result<T, E>) {
    (name, fut.await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn graph(edges: &[(&str, &[&str])]) -> (Vec<String>, HashMap<String, Vec<String>>) {
        let order = edges.iter().map(|(m, _)| m.to_string()).collect();
        let deps = edges
            .iter()
            .map(|(m, d)| (m.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect();
        (order, deps)
    }

    /// Each step logs `+m` when it starts and `-m` when it ends, yielding in between so that
    /// every step that can run concurrently has started before any ends.
    async fn run(
        order: &[String],
        deps: &HashMap<String, Vec<String>>,
        limit: usize,
        fail: &'static [&'static str],
    ) -> (Vec<String>, Traversal<usize, String>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let t = in_dependency_order(order, deps, limit, |m, done: &HashMap<String, usize>| {
            let log = log.clone();
            let m = m.to_owned();
            let seen = done.len();
            async move {
                log.lock().unwrap().push(format!("+{m}"));
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                log.lock().unwrap().push(format!("-{m}"));
                if fail.contains(&m.as_str()) {
                    Err(format!("{m} failed"))
                } else {
                    Ok(seen)
                }
            }
        })
        .await;
        let log = log.lock().unwrap().clone();
        (log, t)
    }

    fn at(log: &[String], e: &str) -> usize {
        log.iter().position(|l| l == e).unwrap()
    }

    #[tokio::test]
    async fn independent_members_start_together_and_dependents_wait() {
        let (order, deps) = graph(&[
            ("a1", &[]),
            ("b1", &[]),
            ("a2", &["a1"]),
            ("b2", &["b1"]),
            ("a3", &["a2"]),
        ]);
        let (log, t) = run(&order, &deps, PARALLEL_LIMIT, &[]).await;
        // Both chain heads start before either ends.
        assert!(at(&log, "+b1") < at(&log, "-a1"), "{log:?}");
        // Every member starts only after each of its dependencies ended.
        for (m, ds) in &deps {
            for d in ds {
                assert!(
                    at(&log, &format!("-{d}")) < at(&log, &format!("+{m}")),
                    "{log:?}"
                );
            }
        }
        assert_eq!(t.done.len(), 5);
        assert!(t.failed.is_empty() && t.skipped.is_empty());
        // A step sees at least its dependencies' results.
        assert!(t.done["a3"] >= 2);
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_only() {
        let (order, deps) = graph(&[
            ("db", &[]),
            ("cache", &[]),
            ("app", &["db", "cache"]),
            ("worker", &["app"]),
            ("other", &["cache"]),
        ]);
        let (log, t) = run(&order, &deps, PARALLEL_LIMIT, &["db"]).await;
        assert_eq!(
            t.failed
                .iter()
                .map(|(m, e)| (m.as_str(), e.as_str()))
                .collect::<Vec<_>>(),
            vec![("db", "db failed")]
        );
        assert_eq!(t.skipped, vec!["app".to_string(), "worker".into()]);
        assert!(!log.contains(&"+app".to_string()), "{log:?}");
        // The branch without a path to the failure ran to the end.
        assert!(t.done.contains_key("other") && t.done.contains_key("cache"));
    }

    #[tokio::test]
    async fn the_limit_bounds_concurrency() {
        let (order, deps) = graph(&[("a", &[]), ("b", &[]), ("c", &[])]);
        let (log, t) = run(&order, &deps, 1, &[]).await;
        assert_eq!(log, vec!["+a", "-a", "+b", "-b", "+c", "-c"]);
        assert_eq!(t.done.len(), 3);
    }

    #[tokio::test]
    async fn dependencies_outside_the_order_are_ignored() {
        // A member of a profile that is not selected is not in the order.
        let (order, mut deps) = graph(&[("web", &[])]);
        deps.insert("web".into(), vec!["debug".into()]);
        let (_, t) = run(&order, &deps, PARALLEL_LIMIT, &[]).await;
        assert!(t.done.contains_key("web"));
    }
}
