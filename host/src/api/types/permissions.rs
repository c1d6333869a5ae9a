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

/// What a mount is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume.
    Volume,
    /// An anonymous volume.
    Anonymous,
    /// Memory.
    Tmpfs,
}

/// A service's mounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MountsView {
    /// Per member in document order, each member's mounts in order.
    pub mounts: Vec<MountInfo>,
}

/// One mount.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MountInfo {
    /// The member.
    pub member: String,
    /// What it is.
    pub kind: MountKind,
    /// The host path (bind) or the volume's name as written (volume).
    pub source: Option<String>,
    /// Where it is on the host: the bind source or the volume's directory.
    pub host_path: Option<String>,
    /// The container path.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Whether the host path exists now.
    pub exists: bool,
    /// Its owner (`uid:gid`).
    pub owner: Option<String>,
    /// Its permission bits in octal (`0755`).
    pub mode: Option<String>,
    /// Bytes of the files under it at the last measurement (null until measured).
    pub size_bytes: Option<u64>,
    /// The measurement stopped at a million entries: `size_bytes` is a lower bound.
    pub size_partial: bool,
    /// When it was measured.
    pub size_measured_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A measurement is running now (ask again for its result).
    pub measuring: bool,
}

impl From<Vec<crate::mounts::MountView>> for MountsView {
    fn from(v: Vec<crate::mounts::MountView>) -> Self {
        use crate::mounts::Kind;
        Self {
            mounts: v
                .into_iter()
                .map(|m| MountInfo {
                    member: m.member,
                    kind: match m.kind {
                        Kind::Bind => MountKind::Bind,
                        Kind::Volume => MountKind::Volume,
                        Kind::Anonymous => MountKind::Anonymous,
                        Kind::Tmpfs => MountKind::Tmpfs,
                    },
                    source: m.source,
                    host_path: m.host_path,
                    target: m.target,
                    read_only: m.read_only,
                    exists: m.exists,
                    owner: m.owner,
                    mode: m.mode.map(|b| format!("{b:04o}")),
                    size_bytes: m.size.map(|s| s.bytes),
                    size_partial: m.size.is_some_and(|s| s.partial),
                    size_measured_at: m.size.map(|s| s.at.into()),
                    measuring: m.measuring,
                })
                .collect(),
        }
    }
}
