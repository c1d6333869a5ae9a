//! Delivering events to notifier plugins, with each notifier's delivery options:
//! - **cooldown**: at most one event per (notifier, service, kind) within `cooldown_seconds`,
//!   claimed in PostgreSQL so that it holds across replicas (a daily check does not re-announce
//!   the same pending update every day when the cooldown is a week);
//! - **batching**: events of one kind are collected for `batch_seconds` and delivered as one
//!   event ("3 services updated: a, b, c" with one line per event in `detail`), flushed early on
//!   shutdown. Batches live in the memory of the replica that saw the events.
//!
//! Delivery never blocks the caller: it runs on its own task, and failures are logged and counted.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use sdmd_plugin_host::Plugin;
use sdmd_plugin_host::types::{Event, EventKind, Service};

use crate::runtime::Batch;
use crate::state::AppState;

/// Longest cooldown an admin can set (30 days).
pub const MAX_COOLDOWN_SECONDS: u32 = 30 * 24 * 3600;
/// Longest batching window (1 hour): events should not wait longer than that.
pub const MAX_BATCH_SECONDS: u32 = 3600;
/// Events a batch holds at most; later ones are delivered in the next batch.
const MAX_BATCH_EVENTS: usize = 200;

/// How events reach one notifier plugin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    /// Tell this notifier about a (service, event kind) at most once per this many seconds;
    /// 0 = every event.
    pub cooldown_seconds: u32,
    /// Collect events of one kind for this many seconds and deliver them as one; 0 = at once.
    pub batch_seconds: u32,
}

impl Delivery {
    /// Checks the bounds; options other than the defaults only make sense for a notifier.
    pub fn validate(&self, is_notifier: bool) -> Result<(), String> {
        if !is_notifier && *self != Delivery::default() {
            return Err("delivery: only notifier plugins have delivery options".into());
        }
        if self.cooldown_seconds > MAX_COOLDOWN_SECONDS {
            return Err(format!(
                "delivery: cooldown_seconds must be 0..={MAX_COOLDOWN_SECONDS}"
            ));
        }
        if self.batch_seconds > MAX_BATCH_SECONDS {
            return Err(format!(
                "delivery: batch_seconds must be 0..={MAX_BATCH_SECONDS}"
            ));
        }
        Ok(())
    }
}

/// A notifier plugin, loaded, with its delivery options.
#[derive(Clone)]
pub struct Notifier {
    /// The plugin.
    pub plugin: Plugin,
    /// Its options.
    pub delivery: Delivery,
}

/// Snake-case name of a kind (history, metrics, cooldown rows).
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::UpdateAvailable => "update_available",
        EventKind::Updated => "updated",
        EventKind::RolledBack => "rolled_back",
        EventKind::Failed => "failed",
        EventKind::ContainerDied => "container_died",
    }
}

/// Sends `event` to every notifier, honouring their delivery options. Returns at once.
pub fn dispatch(state: &AppState, notifiers: Vec<Notifier>, event: Event) {
    if notifiers.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for n in notifiers {
            if n.delivery.cooldown_seconds > 0 {
                match crate::db::plugins::claim_notification(
                    &state.db,
                    n.plugin.id(),
                    &event.service.name,
                    kind_name(event.kind),
                    n.delivery.cooldown_seconds,
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::debug!(plugin = n.plugin.id(), service = %event.service.name,
                            kind = kind_name(event.kind), "notification within the cooldown: not sent");
                        state
                            .metrics
                            .notifications_suppressed
                            .fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    // Better a repeated notification than a lost one.
                    Err(e) => tracing::warn!(plugin = n.plugin.id(), error = %e,
                        "cannot read the notification cooldown; sending anyway"),
                }
            }
            if n.delivery.batch_seconds > 0 {
                enqueue(&state, n, event.clone()).await;
            } else {
                deliver(&state, &n.plugin, event.clone()).await;
            }
        }
    });
}

/// Adds an event to the notifier's open batch for its kind; the first event of a batch starts
/// the timer that flushes it, and a full batch is delivered at once.
async fn enqueue(state: &AppState, n: Notifier, event: Event) {
    let key = (n.plugin.id().to_owned(), event.kind);
    let (started, full) = {
        let mut open = state.notifications.open.lock().await;
        let batch = open.entry(key.clone()).or_insert_with(|| Batch {
            id: state.notifications.next_id.fetch_add(1, Ordering::Relaxed),
            events: Vec::new(),
        });
        batch.events.push(event);
        if batch.events.len() >= MAX_BATCH_EVENTS {
            (None, open.remove(&key).map(|b| b.events))
        } else {
            ((batch.events.len() == 1).then_some(batch.id), None)
        }
    };
    if let Some(event) = full.and_then(combine) {
        deliver(state, &n.plugin, event).await;
    }
    let Some(id) = started else {
        return;
    };
    let state = state.clone();
    let window = Duration::from_secs(u64::from(n.delivery.batch_seconds));
    tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(window) => {}
            () = state.shutdown.cancelled() => {}
        }
        let events = {
            let mut open = state.notifications.open.lock().await;
            match open.get(&key) {
                // Still the batch this timer started (not delivered early because it filled up).
                Some(b) if b.id == id => open.remove(&key).map(|b| b.events),
                _ => None,
            }
        };
        if let Some(event) = events.and_then(combine) {
            deliver(&state, &n.plugin, event).await;
        }
    });
}

async fn deliver(state: &AppState, plugin: &Plugin, event: Event) {
    let runtime = match state.plugins.runtime_for(state) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "plugin runtime unavailable: notification dropped");
            state
                .metrics
                .notifications_failed
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    match runtime.notify(plugin, event).await.result {
        Ok(()) => state
            .metrics
            .notifications_sent
            .fetch_add(1, Ordering::Relaxed),
        Err(e) => {
            tracing::warn!(plugin = plugin.id(), error = %e, "notifier failed");
            state
                .metrics
                .notifications_failed
                .fetch_add(1, Ordering::Relaxed)
        }
    };
}

/// One event for a batch: the event itself when alone, else a summary of all of them.
pub fn combine(mut events: Vec<Event>) -> Option<Event> {
    if events.len() <= 1 {
        return events.pop();
    }
    let kind = events[0].kind;
    let mut names: Vec<&str> = Vec::new();
    for e in &events {
        if !names.contains(&e.service.name.as_str()) {
            names.push(&e.service.name);
        }
    }
    let what = match kind {
        EventKind::UpdateAvailable => "updates available",
        EventKind::Updated => "services updated",
        EventKind::RolledBack => "updates rolled back",
        EventKind::Failed => "updates failed",
        EventKind::ContainerDied => "containers died",
    };
    let summary = format!("{} {what}: {}", events.len(), names.join(", "));
    let detail = events
        .iter()
        .map(|e| match &e.detail {
            Some(d) => format!("{} ({}): {}", e.summary, e.timestamp, d),
            None => format!("{} ({})", e.summary, e.timestamp),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let service = if names.len() == 1 {
        events[0].service.clone()
    } else {
        Service {
            name: "sdmd".into(),
            revision: 0,
            labels: [
                ("sdmd.batch".to_owned(), events.len().to_string()),
                ("sdmd.services".to_owned(), names.join(",")),
            ]
            .into_iter()
            .collect(),
        }
    };
    let single = |f: fn(&Event) -> &Option<String>| {
        let first = f(&events[0]);
        events
            .iter()
            .all(|e| f(e) == first)
            .then(|| first.clone())?
    };
    Some(Event {
        kind,
        service,
        summary,
        from_image: single(|e| &e.from_image),
        to_image: single(|e| &e.to_image),
        detail: Some(detail),
        timestamp: chrono::Utc::now().to_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(service: &str, summary: &str) -> Event {
        Event {
            kind: EventKind::Updated,
            service: Service {
                name: service.into(),
                revision: 3,
                labels: Default::default(),
            },
            summary: summary.into(),
            from_image: None,
            to_image: Some("app:2".into()),
            detail: None,
            timestamp: "2026-11-26T10:00:00Z".into(),
        }
    }

    #[test]
    fn combines_a_batch() {
        assert_eq!(combine(Vec::new()), None);
        let one = event("a", "a updated");
        assert_eq!(combine(vec![one.clone()]), Some(one));
        let e = combine(vec![
            event("a", "a updated"),
            event("b", "b updated"),
            event("a", "a updated"),
        ])
        .unwrap();
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.summary, "3 services updated: a, b");
        assert_eq!(e.service.name, "sdmd");
        assert_eq!(e.service.labels["sdmd.services"], "a,b");
        assert_eq!(e.service.labels["sdmd.batch"], "3");
        assert_eq!(e.to_image.as_deref(), Some("app:2"), "shared by all");
        assert_eq!(e.from_image, None);
        assert_eq!(e.detail.unwrap().lines().count(), 3);
        let same = combine(vec![event("a", "x"), event("a", "y")]).unwrap();
        assert_eq!(same.service.name, "a");
        assert_eq!(same.service.revision, 3);
    }

    #[test]
    fn validates_options() {
        assert!(Delivery::default().validate(false).is_ok());
        let d = Delivery {
            cooldown_seconds: 3600,
            batch_seconds: 60,
        };
        assert!(d.validate(true).is_ok());
        assert!(d.validate(false).is_err());
        assert!(
            Delivery {
                batch_seconds: MAX_BATCH_SECONDS + 1,
                ..d
            }
            .validate(true)
            .is_err()
        );
        assert!(
            Delivery {
                cooldown_seconds: MAX_COOLDOWN_SECONDS + 1,
                ..d
            }
            .validate(true)
            .is_err()
        );
    }
}
