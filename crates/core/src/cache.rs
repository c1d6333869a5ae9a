//! Hot paths from memory: the stored state the services list shows (definitions, update
//! summaries, pending updates, schedules) and the list's rendering, kept while the invalidation
//! listener (`invalidation.rs`) runs.
//!
//! A cached value is stored under the *version* of its inputs, read before the inputs are: the
//! live container list's version (`Live::version`), the count of database notifications about
//! stored state, and the count of audit entries this process published (every local change
//! publishes one before its request is answered, so a client reads its own writes at once; the
//! notification covers other replicas and the CLI). A value is served only while the versions are
//! the same. While the listener is down nothing is cached: every request reads PostgreSQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::db::services::StoredService;
use crate::timetable::Schedule;
use sdmd_model::updates::PendingUpdate;

/// One value kept under the version it was computed for.
pub struct Memo<K, V> {
    slot: Mutex<Option<(K, Arc<V>)>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }
}

impl<K: PartialEq, V> Memo<K, V> {
    /// The value, if it was computed for `version`.
    pub fn get(&self, version: &K) -> Option<Arc<V>> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .filter(|(k, _)| k == version)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` as computed for `version`.
    pub fn put(&self, version: K, value: Arc<V>) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, value));
    }

    /// Forgets the value.
    pub fn clear(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// What the services list reads from PostgreSQL.
pub struct Stored {
    /// Stored services by name.
    pub services: Vec<StoredService>,
    /// Per service: whether an update is available, and when it was last updated.
    pub updates: HashMap<String, (bool, Option<DateTime<Utc>>)>,
    /// Per service: what the latest check found.
    pub pending: HashMap<String, PendingUpdate>,
    /// Per service: its schedule.
    pub schedules: HashMap<String, Schedule>,
}

/// The version of stored state: notifications received, audit entries published here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredVersion {
    notified: u64,
    audits: u64,
}

/// The version of the services list: stored state and live containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListVersion {
    stored: StoredVersion,
    live: u64,
}

/// A rendered answer with a tag of its content (the same bytes give the same tag on every
/// replica and across restarts).
pub struct Rendered {
    /// The body.
    pub body: Vec<u8>,
    /// Hex SHA-256 of the body, shortened.
    pub tag: String,
}

impl Rendered {
    /// Tags `body`.
    pub fn new(body: Vec<u8>) -> Self {
        let tag = hex::encode(&Sha256::digest(&body)[..16]);
        Self { body, tag }
    }
}

/// The caches of stored state of one process.
#[derive(Default)]
pub struct Hot {
    notified: AtomicU64,
    live: AtomicBool,
    /// The stored state of the services list.
    pub stored: Memo<StoredVersion, Stored>,
    /// The services list as rendered by the API.
    pub list: Memo<ListVersion, Rendered>,
}

impl Hot {
    /// The current version of stored state, or `None` while the cache is off.
    pub fn stored_version(&self, audits: u64) -> Option<StoredVersion> {
        let notified = self.notified.load(Ordering::Acquire);
        self.live
            .load(Ordering::Acquire)
            .then_some(StoredVersion { notified, audits })
    }

    /// The current version of the services list, or `None` while the cache is off.
    pub fn list_version(&self, audits: u64, live: u64) -> Option<ListVersion> {
        self.stored_version(audits)
            .map(|stored| ListVersion { stored, live })
    }

    /// Stored state changed somewhere (a notification).
    pub fn invalidate(&self) {
        self.notified.fetch_add(1, Ordering::AcqRel);
    }

    /// Turns the cache on (listener connected) or off (it dropped); either way it starts empty.
    pub fn set_live(&self, live: bool) {
        self.live.store(false, Ordering::Release);
        self.invalidate();
        self.stored.clear();
        self.list.clear();
        self.live.store(live, Ordering::Release);
    }

    /// Whether the cache is in use.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_move_with_each_input_and_off_means_uncached() {
        let h = Hot::default();
        assert!(h.list_version(0, 0).is_none());
        h.set_live(true);
        let v = h.list_version(0, 0).unwrap();
        h.list.put(v, Arc::new(Rendered::new(b"[]".to_vec())));
        assert_eq!(
            h.list.get(&h.list_version(0, 0).unwrap()).unwrap().body,
            b"[]"
        );
        assert!(h.list.get(&h.list_version(1, 0).unwrap()).is_none());
        assert!(h.list.get(&h.list_version(0, 1).unwrap()).is_none());
        h.invalidate();
        assert!(h.list.get(&h.list_version(0, 0).unwrap()).is_none());
        assert_eq!(
            Rendered::new(b"x".to_vec()).tag,
            Rendered::new(b"x".to_vec()).tag
        );
        assert_ne!(
            Rendered::new(b"x".to_vec()).tag,
            Rendered::new(b"y".to_vec()).tag
        );
        h.set_live(false);
        assert!(h.list_version(0, 0).is_none());
    }
}
