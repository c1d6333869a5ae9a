//! Live container state, kept current from the Docker events stream so that listing services
//! never asks Docker. On (re)connection the whole list is resynced; afterwards each container
//! event refreshes just that container.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::docker::{ContainerInfo, ContainerState, Docker, DockerError, Filter, Health, labels};
use crate::events::{Event, EventBus};
use sdmd_model::observe::TransitionKind;
pub use sdmd_model::status::{
    Address, COMPOSE_PREFIX, CONTAINER_PREFIX, Group, Kind, Status, find, group, holder_of, id_of,
    status_of,
};

/// The cache of every container on the host.
#[derive(Default)]
pub struct Live {
    containers: RwLock<HashMap<String, ContainerInfo>>,
    /// Moves (under the write lock) with every change of `containers`.
    version: AtomicU64,
    connected: AtomicBool,
    last_error: RwLock<Option<String>>,
}

impl Live {
    /// Whether the events stream is up and the cache current.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The version of the container list: it moves whenever a container is added, changed or
    /// removed. Read it before [`Live::containers`]: the snapshot is then at least as new.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Why Docker is unreachable, when it is.
    pub async fn last_error(&self) -> Option<String> {
        self.last_error.read().await.clone()
    }

    /// How many containers there are (no copy).
    pub async fn count(&self) -> usize {
        self.containers.read().await.len()
    }

    /// A snapshot of all containers.
    pub async fn containers(&self) -> Vec<ContainerInfo> {
        self.containers.read().await.values().cloned().collect()
    }

    async fn replace_all(&self, list: Vec<ContainerInfo>, bus: &EventBus) {
        let mut map = self.containers.write().await;
        let fresh: HashMap<String, ContainerInfo> =
            list.into_iter().map(|c| (c.id.clone(), c)).collect();
        for (id, old) in map.iter() {
            match fresh.get(id) {
                Some(new) if new.state == old.state && new.health == old.health => {}
                Some(new) => bus.publish(status_event(new)),
                None => bus.publish(removed_event(old)),
            }
        }
        for (id, new) in &fresh {
            if !map.contains_key(id) {
                bus.publish(status_event(new));
            }
        }
        *map = fresh;
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    async fn upsert(&self, c: ContainerInfo, bus: &EventBus) {
        let mut map = self.containers.write().await;
        let changed = map
            .get(&c.id)
            .is_none_or(|old| old.state != c.state || old.health != c.health);
        if changed {
            bus.publish(status_event(&c));
        }
        map.insert(c.id.clone(), c);
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    async fn remove(&self, id: &str, bus: &EventBus) {
        let mut map = self.containers.write().await;
        if let Some(old) = map.remove(id) {
            self.version.fetch_add(1, Ordering::AcqRel);
            bus.publish(removed_event(&old));
        }
    }

    /// Refreshes one container now (after SDMD changed it), without waiting for its event.
    pub async fn refresh(
        &self,
        docker: &Docker,
        id: &str,
        bus: &EventBus,
    ) -> Result<(), DockerError> {
        match docker
            .list_containers(Filter::Id(id))
            .await?
            .into_iter()
            .next()
        {
            Some(c) => self.upsert(c, bus).await,
            None => self.remove(id, bus).await,
        }
        Ok(())
    }
}

fn service_of(c: &ContainerInfo) -> String {
    c.label(labels::SERVICE)
        .or_else(|| c.label(labels::COMPOSE_PROJECT))
        .unwrap_or(&c.name)
        .to_owned()
}

fn status_event(c: &ContainerInfo) -> Event {
    Event::ContainerStatus {
        service: service_of(c),
        container_id: c.id.clone(),
        container: c.name.clone(),
        state: Some(c.state),
        health: Some(c.health),
    }
}

fn removed_event(c: &ContainerInfo) -> Event {
    Event::ContainerStatus {
        service: service_of(c),
        container_id: c.id.clone(),
        container: c.name.clone(),
        state: None,
        health: None,
    }
}

/// Actions that change what we show; exec_* (health probes), attach, resize etc. do not.
fn relevant(action: &str) -> bool {
    matches!(
        action,
        "create"
            | "start"
            | "restart"
            | "die"
            | "stop"
            | "kill"
            | "pause"
            | "unpause"
            | "rename"
            | "destroy"
            | "oom"
            | "update"
    ) || action.starts_with("health_status")
}

/// A `die` after a `kill`/`stop` within this window was asked for.
const EXPECTED_DIE_WINDOW: Duration = Duration::from_secs(60);

/// A container exited on its own with a non-zero code (nobody stopped or killed it).
#[derive(Debug, Clone)]
pub struct Died {
    /// Container id.
    pub id: String,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// What the cache knew of it just before.
    pub known: Option<ContainerInfo>,
}

/// A state or health change of a container as the events stream told it, for the history.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Container id.
    pub id: String,
    /// The engine's time of the event, nanoseconds since the epoch (the same on every replica
    /// watching this engine: the history's key).
    pub at_nanos: i64,
    /// What changed.
    pub kind: TransitionKind,
    /// Before (`None`: not known).
    pub from: Option<&'static str>,
    /// After.
    pub to: &'static str,
    /// The exit code, on a `die`.
    pub exit_code: Option<i64>,
    /// Whether an `oom` event preceded the `die`.
    pub oom: bool,
    /// The container as the cache knows it after the event (before it, for `destroy`).
    pub container: Option<ContainerInfo>,
}

/// The spelling of a state in the history.
pub fn state_name(s: ContainerState) -> &'static str {
    match s {
        ContainerState::Created => "created",
        ContainerState::Running => "running",
        ContainerState::Paused => "paused",
        ContainerState::Restarting => "restarting",
        ContainerState::Removing => "removing",
        ContainerState::Exited => "exited",
        ContainerState::Dead => "dead",
    }
}

/// The spelling of a health verdict in the history (`None`: no healthcheck).
pub fn health_name(h: Health) -> Option<&'static str> {
    match h {
        Health::None => None,
        Health::Starting => Some("starting"),
        Health::Healthy => Some("healthy"),
        Health::Unhealthy => Some("unhealthy"),
    }
}

/// The transitions one event means, given the container before and after it.
fn transitions(
    ev: &crate::docker::ContainerEvent,
    (from_state, from_health): (Option<&'static str>, Option<&'static str>),
    before: Option<&ContainerInfo>,
    after: Option<&ContainerInfo>,
    oom: bool,
) -> Vec<Seen> {
    let seen = |kind, from, to, exit_code, oom| Seen {
        id: ev.id.clone(),
        at_nanos: ev.time_nano,
        kind,
        from,
        to,
        exit_code,
        oom,
        container: after.or(before).cloned(),
    };
    let mut out = Vec::new();
    match ev.action.as_str() {
        "start" | "unpause" => {
            out.push(seen(
                TransitionKind::State,
                from_state,
                "running",
                None,
                false,
            ));
            if after.is_some_and(|c| c.health == Health::Starting)
                && from_health != Some("starting")
            {
                out.push(seen(
                    TransitionKind::Health,
                    from_health,
                    "starting",
                    None,
                    false,
                ));
            }
        }
        "pause" => out.push(seen(
            TransitionKind::State,
            from_state,
            "paused",
            None,
            false,
        )),
        "die" => {
            let to = match after.map(|c| c.state) {
                Some(ContainerState::Restarting) => "restarting",
                Some(ContainerState::Dead) => "dead",
                _ => "exited",
            };
            out.push(seen(
                TransitionKind::State,
                from_state,
                to,
                ev.exit_code,
                oom,
            ));
        }
        "destroy" => out.push(seen(
            TransitionKind::State,
            from_state,
            "removed",
            None,
            false,
        )),
        a => {
            let to = match a.strip_prefix("health_status:").map(str::trim) {
                Some("healthy") => "healthy",
                Some("unhealthy") => "unhealthy",
                _ => return out,
            };
            if from_health != Some(to) {
                out.push(seen(TransitionKind::Health, from_health, to, None, false));
            }
        }
    }
    out
}

/// Follows Docker events until `shutdown`, reconnecting with backoff whenever the engine goes
/// away and resyncing the whole list when it comes back.
pub async fn watch(
    docker: Docker,
    live: Arc<Live>,
    bus: EventBus,
    shutdown: CancellationToken,
    died: Option<tokio::sync::mpsc::UnboundedSender<Died>>,
    seen: Option<tokio::sync::mpsc::UnboundedSender<Seen>>,
) {
    let mut backoff = Duration::from_millis(250);
    // Containers someone stopped or killed on purpose (sdmd or `docker stop`), by id: their `die`
    // is no surprise.
    let mut stopping: HashMap<String, std::time::Instant> = HashMap::new();
    // Containers whose last event was `oom`: their next `die` was the OOM killer's.
    let mut oomed: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Per container, the last state and health a transition went to (the next one's `from`):
    // the cache may already show the next state when an event arrives (a `kill` is refreshed
    // after the container exited, before its `die` comes).
    let mut last: HashMap<String, (Option<&'static str>, Option<&'static str>)> = HashMap::new();
    loop {
        let session = async {
            // Subscribe before listing so no change between the two is lost.
            let events = docker.container_events().await?;
            futures_util::pin_mut!(events);
            let list = docker.list_containers(Filter::All).await?;
            live.replace_all(list, &bus).await;
            live.connected.store(true, Ordering::Release);
            *live.last_error.write().await = None;
            tracing::info!("docker events stream connected; state resynced");
            while let Some(ev) = events.next().await {
                let ev =
                    ev.inspect_err(|e| tracing::debug!(error = %e, "the events stream failed"))?;
                if !relevant(&ev.action) {
                    continue;
                }
                if let Some(tx) = &died {
                    match ev.action.as_str() {
                        "kill" | "stop" => {
                            stopping.retain(|_, at| at.elapsed() < EXPECTED_DIE_WINDOW);
                            stopping.insert(ev.id.clone(), std::time::Instant::now());
                        }
                        "die" => {
                            let expected = stopping
                                .remove(&ev.id)
                                .is_some_and(|at| at.elapsed() < EXPECTED_DIE_WINDOW);
                            if !expected && ev.exit_code != Some(0) {
                                // Read the container before the refresh below replaces it.
                                let known = live.containers.read().await.get(&ev.id).cloned();
                                let _ = tx.send(Died {
                                    id: ev.id.clone(),
                                    exit_code: ev.exit_code,
                                    known,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                let before = if seen.is_some() {
                    live.containers.read().await.get(&ev.id).cloned()
                } else {
                    None
                };
                if ev.action == "destroy" {
                    live.remove(&ev.id, &bus).await;
                } else {
                    live.refresh(&docker, &ev.id, &bus).await.inspect_err(|e| {
                        tracing::debug!(error = %e, container = %ev.id, action = %ev.action, "refresh after an event failed");
                    })?;
                }
                if let Some(tx) = &seen {
                    let oom = match ev.action.as_str() {
                        "oom" => {
                            oomed.insert(ev.id.clone());
                            false
                        }
                        "die" => oomed.remove(&ev.id),
                        "start" => {
                            oomed.remove(&ev.id);
                            false
                        }
                        _ => false,
                    };
                    let after = live.containers.read().await.get(&ev.id).cloned();
                    let from = *last.entry(ev.id.clone()).or_insert_with(|| {
                        // A container first seen by its `create` starts out created.
                        let state = if ev.action == "create" {
                            Some("created")
                        } else {
                            before.as_ref().map(|c| state_name(c.state))
                        };
                        (state, before.as_ref().and_then(|c| health_name(c.health)))
                    });
                    let mut now = from;
                    for t in transitions(&ev, from, before.as_ref(), after.as_ref(), oom) {
                        match t.kind {
                            TransitionKind::State => now.0 = Some(t.to),
                            TransitionKind::Health => now.1 = Some(t.to),
                        }
                        let _ = tx.send(t);
                    }
                    if ev.action == "destroy" {
                        last.remove(&ev.id);
                    } else {
                        last.insert(ev.id.clone(), now);
                    }
                }
            }
            Err::<(), DockerError>(DockerError::Unavailable("the events stream ended".into()))
        };
        let result = tokio::select! {
            r = session => r,
            () = shutdown.cancelled() => return,
        };
        let was_connected = live.connected.swap(false, Ordering::AcqRel);
        if let Err(e) = result {
            if was_connected {
                tracing::warn!(error = %e, "lost the docker events stream; reconnecting");
                backoff = Duration::from_millis(250);
            } else {
                tracing::debug!(error = %e, "docker still unavailable");
            }
            *live.last_error.write().await = Some(e.to_string());
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
