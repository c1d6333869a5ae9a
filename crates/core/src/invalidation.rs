//! The invalidation listener: follows PostgreSQL's notifications about credentials and stored
//! state (`db::notify`) and evicts from this process's caches (`auth::principals`, `cache`).
//! While it is not connected the caches are off (emptied, every request reads PostgreSQL); each
//! (re)connection starts them empty, since notifications sent meanwhile were missed.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::cache::Hot;
use crate::db::PgPool;
use crate::db::notify::{Change, Listener};

/// Listens until `shutdown`, reconnecting with backoff.
pub async fn run(db: PgPool, auth: Arc<Auth>, hot: Arc<Hot>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let session = async {
            let mut listener = Listener::connect(&db).await?;
            auth.principals.set_live(true);
            hot.set_live(true);
            tracing::debug!("listening for cache invalidations");
            backoff = Duration::from_millis(100);
            while let Some(change) = listener.next().await? {
                apply(&auth, &hot, change);
            }
            Err::<(), crate::db::DbError>(crate::db::DbError::PoolClosed)
        };
        let result = tokio::select! {
            r = session => r,
            () = shutdown.cancelled() => Ok(()),
        };
        // Whatever happened, nothing cached can be trusted any more.
        let was_live = auth.principals.is_live();
        auth.principals.set_live(false);
        hot.set_live(false);
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = result {
            if was_live {
                tracing::warn!(error = %e, "lost the cache invalidation listener; caches off until it reconnects");
            } else {
                tracing::debug!(error = %e, "cache invalidation listener still unavailable");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn apply(auth: &Auth, hot: &Hot, change: Change) {
    match change {
        Change::Session(id) => auth.principals.evict_session(id),
        Change::Token(id) => auth.principals.evict_token(id),
        Change::User(id) => auth.principals.evict_user(id),
        Change::AllCredentials => auth.principals.clear(),
        Change::Definitions => hot.invalidate(),
    }
}
