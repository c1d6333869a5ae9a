//! Cross-replica invalidation: the PostgreSQL `LISTEN` side of the triggers in
//! `migrations/20261213000000_cache_invalidation.sql`, which `NOTIFY` on every change that ends a
//! credential (`sdmd_auth`) or changes what the services list shows (`sdmd_definitions`).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Error as DbError, PgPool};
use uuid::Uuid;

/// The channel of credential changes.
pub const AUTH_CHANNEL: &str = "sdmd_auth";
/// The channel of stored-definition changes.
pub const DEFINITIONS_CHANNEL: &str = "sdmd_definitions";

/// What a notification says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A built-in session was revoked, re-dated or removed.
    Session(Uuid),
    /// An API token was revoked, re-dated or deleted.
    Token(Uuid),
    /// A user's email or password changed, or the user was removed.
    User(Uuid),
    /// Anything about credentials (a table truncated, the signing key replaced, or a payload
    /// this version does not know): forget every cached principal.
    AllCredentials,
    /// A stored definition, revision, schedule, update run or check changed.
    Definitions,
}

impl Change {
    /// Reads a notification of `channel` with `payload`; unknown payloads on the credential
    /// channel mean "everything" (never "nothing").
    pub fn parse(channel: &str, payload: &str) -> Self {
        if channel == DEFINITIONS_CHANNEL {
            return Self::Definitions;
        }
        let id = |s: &str| Uuid::parse_str(s).ok();
        match payload.split_once(':') {
            Some(("session", s)) => id(s).map_or(Self::AllCredentials, Self::Session),
            Some(("token", s)) => id(s).map_or(Self::AllCredentials, Self::Token),
            Some(("user", s)) => id(s).map_or(Self::AllCredentials, Self::User),
            _ => Self::AllCredentials,
        }
    }
}

/// A connection listening on both channels. It holds its own connection (not one of the pool's).
pub struct Listener {
    inner: PgListener,
}

impl Listener {
    /// Connects with the pool's options and listens on both channels. Once this returns, every
    /// change committed afterwards is delivered (until the connection drops).
    pub async fn connect(pool: &PgPool) -> Result<Self, DbError> {
        let options = (*pool.connect_options()).clone();
        let own = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        let mut inner = PgListener::connect_with(&own).await?;
        inner
            .listen_all([AUTH_CHANNEL, DEFINITIONS_CHANNEL])
            .await?;
        Ok(Self { inner })
    }

    /// The next change. `Ok(None)` or an error means the connection dropped: changes may have
    /// been missed, so the caller forgets what it cached and connects again.
    pub async fn next(&mut self) -> Result<Option<Change>, DbError> {
        Ok(self
            .inner
            .try_recv()
            .await?
            .map(|n| Change::parse(n.channel(), n.payload())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_and_unknown_ones_mean_everything() {
        let id = Uuid::new_v4();
        assert_eq!(
            Change::parse(AUTH_CHANNEL, &format!("session:{id}")),
            Change::Session(id)
        );
        assert_eq!(
            Change::parse(AUTH_CHANNEL, &format!("token:{id}")),
            Change::Token(id)
        );
        assert_eq!(
            Change::parse(AUTH_CHANNEL, &format!("user:{id}")),
            Change::User(id)
        );
        assert_eq!(Change::parse(AUTH_CHANNEL, "all"), Change::AllCredentials);
        assert_eq!(
            Change::parse(AUTH_CHANNEL, "session:nope"),
            Change::AllCredentials
        );
        assert_eq!(
            Change::parse(AUTH_CHANNEL, "role:x"),
            Change::AllCredentials
        );
        assert_eq!(Change::parse(DEFINITIONS_CHANNEL, ""), Change::Definitions);
    }
}
