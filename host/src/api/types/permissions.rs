//! Shapes of bind-source ownership: deploy warnings and `POST …/permissions`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::permissions;

/// A bind source owned by another user than the member runs as.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerWarning {
    /// Always `bind_owner_mismatch`.
    pub kind: &'static str,
    /// The member.
    pub member: String,
    /// The bind source on the host.
    pub path: String,
    /// Its owner now (`uid:gid`).
    pub owner: String,
    /// Whom the member runs as (`uid[:gid]`).
    pub expected: String,
    /// What says so: `user` (its `user:`) or `PUID` (its environment).
    pub from: &'static str,
    /// For people.
    pub message: String,
}

impl From<permissions::Warning> for OwnerWarning {
    fn from(w: permissions::Warning) -> Self {
        Self {
            kind: "bind_owner_mismatch",
            member: w.member,
            path: w.path,
            owner: w.owner.to_string(),
            expected: w.expected.to_string(),
            from: w.from,
            message: w.message,
        }
    }
}

/// What fixing permissions would do, or did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionsPlan {
    /// Whether the changes were made (`apply=true` and something to change).
    pub applied: bool,
    /// Each bind source that gets another owner, with everything under it.
    pub changes: Vec<OwnerChangeView>,
    /// Bind sources left alone, each with why.
    pub skipped: Vec<SkippedView>,
}

/// One owner change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerChangeView {
    /// The member.
    pub member: String,
    /// The bind source on the host.
    pub path: String,
    /// Its owner now (`uid:gid`).
    pub owner: String,
    /// The owner it gets (`uid[:gid]`).
    pub to: String,
    /// How many entries (it and everything under it) are owned otherwise.
    pub entries: u64,
}

/// A bind source left alone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedView {
    /// The member.
    pub member: String,
    /// The bind source on the host.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl From<permissions::Plan> for PermissionsPlan {
    fn from(p: permissions::Plan) -> Self {
        Self {
            applied: p.applied,
            changes: p
                .changes
                .into_iter()
                .map(|c| OwnerChangeView {
                    member: c.member,
                    path: c.path,
                    owner: c.owner.to_string(),
                    to: c.to.to_string(),
                    entries: c.entries,
                })
                .collect(),
            skipped: p
                .skipped
                .into_iter()
                .map(|s| SkippedView {
                    member: s.member,
                    path: s.path,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}
