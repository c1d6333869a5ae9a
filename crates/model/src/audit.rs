//! The audit log's entries as the rest of SDMD sees them (storage and the hash chain are
//! `sdmd-store`'s).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A stored audit row.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct Entry {
    /// Monotonic id (the pagination cursor).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// `ok` or an error code.
    pub result: String,
    /// Request id (made by the server).
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Technical details.
    pub details: Option<serde_json::Value>,
    /// Hex link of the hash chain: `HMAC-SHA256(audit key, previous hash ‖ canonical row)`
    /// (rows written before the HMAC anchor: plain `sha256(previous hash ‖ canonical row)`).
    pub hash: Option<String>,
    /// The `x-request-id` the client sent, if any.
    pub client_request_id: Option<String>,
}
