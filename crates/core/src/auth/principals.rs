//! The principal cache: what the gate needs to admit a request (the [`Identity`] and until when
//! it holds), keyed by the SHA-256 of the bearer credential — never the credential itself.
//!
//! Only built-in sessions and API tokens are cached, only while the invalidation listener
//! (`invalidation.rs`) is connected: PostgreSQL notifies every replica when a session, token
//! or user changes, and the listener evicts. When the listener drops, the cache is emptied and
//! bypassed until it is connected again (notifications may have been missed meanwhile). An entry
//! never outlives the credential's expiry (JWT `exp`, the session's lifetime and idle timeout, the
//! token's `expires_at`) nor [`MAX_AGE`], after which the credential is checked in PostgreSQL
//! again (which also keeps `last_used_at` of API tokens current to the minute).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Identity;

/// The longest an entry is trusted without asking PostgreSQL again.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Entries kept at most; past it, expired ones go, then everything.
const CAPACITY: usize = 10_000;

/// The cache key of a credential: its SHA-256.
pub type Key = [u8; 32];

/// The key of `bearer`.
pub fn key(bearer: &str) -> Key {
    Sha256::digest(bearer.as_bytes()).into()
}

#[derive(Clone)]
struct Entry {
    identity: Identity,
    token_id: Option<Uuid>,
    until: Instant,
}

/// Taken before a credential is looked up in PostgreSQL: an answer obtained after an eviction
/// began is not cached (it may predate the change the eviction is for).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// What is cached of one verified credential.
pub struct Verified {
    /// Who it is.
    pub identity: Identity,
    /// The API token's id, for tokens.
    pub token_id: Option<Uuid>,
    /// How long it stays valid from now.
    pub valid_for: Duration,
}

/// The cache of one process.
#[derive(Default)]
pub struct Principals {
    map: RwLock<HashMap<Key, Entry>>,
    /// Bumped (under the write lock) by every eviction.
    epoch: AtomicU64,
    /// Whether the invalidation listener is connected (the cache is used only then).
    live: AtomicBool,
}

impl Principals {
    /// The cached identity of `key`, when it is cached, unexpired and the cache is live.
    pub fn get(&self, key: &Key) -> Option<Identity> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let e = map.get(key)?;
        (Instant::now() < e.until).then(|| e.identity.clone())
    }

    /// A ticket for a lookup about to start.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::Acquire))
    }

    /// Caches a credential verified in PostgreSQL after `ticket` was taken, unless an eviction
    /// happened since or the cache is not live.
    pub fn insert(&self, ticket: Ticket, key: Key, v: Verified) {
        if !self.live.load(Ordering::Acquire) || v.valid_for.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::Acquire) != ticket.0 || !self.live.load(Ordering::Acquire) {
            return;
        }
        if map.len() >= CAPACITY {
            map.retain(|_, e| e.until > now);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                identity: v.identity,
                token_id: v.token_id,
                until: now + v.valid_for.min(MAX_AGE),
            },
        );
    }

    fn evict(&self, drop: impl Fn(&Entry) -> bool) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.retain(|_, e| !drop(e));
    }

    /// Forgets the tokens of a built-in session.
    pub fn evict_session(&self, session: Uuid) {
        self.evict(|e| e.identity.session_id == Some(session));
    }

    /// Forgets every session of a user.
    pub fn evict_user(&self, user: Uuid) {
        self.evict(|e| e.identity.user_id == Some(user));
    }

    /// Forgets an API token.
    pub fn evict_token(&self, token: Uuid) {
        self.evict(|e| e.token_id == Some(token));
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.evict(|_| true);
    }

    /// Turns the cache on (the listener is connected) or off (it dropped); either way it starts
    /// empty, since changes may have been missed while nobody listened.
    pub fn set_live(&self, live: bool) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.clear();
        self.live.store(live, Ordering::Release);
    }

    /// Whether the cache is in use.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// How many credentials are cached.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(user: Option<Uuid>, session: Option<Uuid>, token: Option<Uuid>) -> Verified {
        Verified {
            identity: Identity {
                actor: "a@example.com".into(),
                user_id: user,
                session_id: session,
            },
            token_id: token,
            valid_for: Duration::from_secs(30),
        }
    }

    #[test]
    fn used_only_while_live_and_evicted_by_what_changed() {
        let c = Principals::default();
        let (user, session, token) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (ks, kt) = (key("jwt"), key("sdmd_x"));
        // Not live: nothing is cached.
        c.insert(c.ticket(), ks, verified(Some(user), Some(session), None));
        assert!(c.get(&ks).is_none());
        c.set_live(true);
        c.insert(c.ticket(), ks, verified(Some(user), Some(session), None));
        c.insert(c.ticket(), kt, verified(None, None, Some(token)));
        assert_eq!(c.get(&ks).unwrap().session_id, Some(session));
        assert!(c.get(&kt).is_some());
        c.evict_token(token);
        assert!(c.get(&kt).is_none());
        assert!(c.get(&ks).is_some());
        c.evict_user(user);
        assert!(c.get(&ks).is_none());
        // An answer looked up before an eviction is not cached.
        let t = c.ticket();
        c.evict_session(Uuid::new_v4());
        c.insert(t, ks, verified(Some(user), Some(session), None));
        assert!(c.get(&ks).is_none());
        // Going offline empties it.
        c.insert(c.ticket(), ks, verified(Some(user), Some(session), None));
        c.set_live(false);
        assert!(c.is_empty());
    }

    #[test]
    fn expiry_is_honoured() {
        let c = Principals::default();
        c.set_live(true);
        let k = key("t");
        let mut v = verified(None, None, Some(Uuid::new_v4()));
        v.valid_for = Duration::from_millis(30);
        c.insert(c.ticket(), k, v);
        assert!(c.get(&k).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get(&k).is_none());
        assert_ne!(key("a"), key("b"));
    }
}
