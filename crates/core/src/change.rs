//! One place for "change + audit + publish": a [`Change`] is a transaction whose audit rows are
//! written inside it (so a change and its record commit together or not at all) and published on
//! the event bus only once it has committed (so no subscriber ever sees a row that was rolled
//! back). Every audited write of the core goes through it.

use std::ops::{Deref, DerefMut};

use sdmd_model::audit::{Action, Entry};

use crate::db::audit::{self, AuditContext, NewEntry};
use crate::db::{DbError, PgConnection, PgPool, Tx};
use crate::events::{Event, EventBus};

/// A transaction with the audit rows it has recorded.
pub struct Change<'c> {
    tx: Tx<'c>,
    entries: Vec<Entry>,
}

/// What an audit row says, beside who did it ([`AuditContext`]).
pub struct Record<'a> {
    /// What was done.
    pub action: Action,
    /// To what (a service, a user, a plugin …).
    pub target: Option<&'a str>,
    /// `ok` or the error code.
    pub result: &'a str,
    /// Before → after summary and other technical facts.
    pub details: serde_json::Value,
}

impl<'a> Record<'a> {
    /// A successful `action` on `target`.
    pub fn ok(action: Action, target: &'a str, details: serde_json::Value) -> Self {
        Record {
            action,
            target: Some(target),
            result: "ok",
            details,
        }
    }

    fn entry(&self) -> NewEntry<'_> {
        NewEntry {
            action: self.action.as_str(),
            target: self.target,
            result: self.result,
            details: self.details.clone(),
        }
    }
}

impl Change<'static> {
    /// Begins a transaction on the pool.
    pub async fn begin(pool: &PgPool) -> Result<Self, DbError> {
        Ok(Change::on(pool.begin().await?))
    }
}

impl<'c> Change<'c> {
    /// Continues a transaction already begun (e.g. on a connection the caller holds).
    pub fn on(tx: Tx<'c>) -> Self {
        Change {
            tx,
            entries: Vec::new(),
        }
    }

    /// Writes an audit row inside this transaction (linked into the chain when it commits).
    pub async fn record(&mut self, ctx: &AuditContext, r: Record<'_>) -> Result<(), DbError> {
        let entry = audit::record(&mut self.tx, ctx, &r.entry()).await?;
        self.entries.push(entry);
        Ok(())
    }

    /// Writes a repeated attempt under `key`: one row when its window opens, one when it closes
    /// ([`audit::record_repeated`]).
    pub async fn record_repeated(
        &mut self,
        key: &str,
        ctx: &AuditContext,
        r: Record<'_>,
    ) -> Result<(), DbError> {
        if let Some(entry) = audit::record_repeated(&mut self.tx, key, ctx, &r.entry()).await? {
            self.entries.push(entry);
        }
        Ok(())
    }

    /// Commits, then publishes each recorded row as [`Event::Audit`].
    pub async fn commit(self, bus: &EventBus) -> Result<(), DbError> {
        for entry in self.commit_unpublished().await? {
            bus.publish(Event::Audit { entry });
        }
        Ok(())
    }

    /// Commits without publishing, answering the rows written. Authentication uses this: sign-in
    /// attempts and session changes are in the log, but not live events for every subscriber.
    pub async fn commit_unpublished(self) -> Result<Vec<Entry>, DbError> {
        self.tx.commit().await?;
        Ok(self.entries)
    }
}

impl Deref for Change<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// Records `r` on its own (an operation whose change is outside the database, e.g. on Docker,
/// already happened) and publishes it. A row that cannot be written is logged loudly: the
/// operation itself cannot be undone.
pub async fn record_alone(pool: &PgPool, bus: &EventBus, ctx: &AuditContext, r: Record<'_>) {
    let (action, target) = (r.action, r.target.unwrap_or_default().to_owned());
    let written = async {
        let mut change = Change::begin(pool).await?;
        change.record(ctx, r).await?;
        change.commit(bus).await
    }
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, action = action.as_str(), target, "failed to write audit row");
    }
}
