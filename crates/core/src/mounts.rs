//! A service's mounts as the service page shows them (issue 13, "Standard folders"): per member,
//! each mount's host path, container path, mode, owner, whether it exists, and its size —
//! measured in the background and cached (`crate::sizes`), never waited for.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::error::Result;
use crate::sizes::Size;
use crate::spec::{Definition, Mount, VolumeEntry};
use crate::state::AppState;

/// What a mount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A host path.
    Bind,
    /// A named volume (its host directory is the engine's).
    Volume,
    /// An anonymous volume (made by the engine per container).
    Anonymous,
    /// Memory.
    Tmpfs,
}

/// One mount of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountView {
    /// The member.
    pub member: String,
    /// What it is.
    pub kind: Kind,
    /// The host path (bind) or the volume's name as written (volume).
    pub source: Option<String>,
    /// Where it is on the host: the bind source, or the volume's directory.
    pub host_path: Option<String>,
    /// The container path.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Whether `host_path` exists now.
    pub exists: bool,
    /// Its owner (`uid:gid`), when it exists.
    pub owner: Option<String>,
    /// Its permission bits, when it exists.
    pub mode: Option<u32>,
    /// The last measured size, when there is one.
    pub size: Option<Size>,
    /// A measurement is running.
    pub measuring: bool,
}

fn read_only(mode: Option<&str>) -> bool {
    mode.is_some_and(|m| m.split(',').any(|o| o == "ro"))
}

/// Every member's mounts, in document order; sizes from the cache (a stale or missing one is
/// measured in the background).
pub async fn of(state: &AppState, def: &Definition) -> Result<Vec<MountView>> {
    let mut out = Vec::new();
    for (member, m) in &def.services {
        for v in &m.volumes {
            let Ok(mount) = v.mount() else { continue };
            let long_ro = matches!(v, VolumeEntry::Long(l) if l.read_only);
            let (kind, source, host_path, ro) = match &mount {
                Mount::Bind { source, mode, .. } => (
                    Kind::Bind,
                    Some(source.clone()),
                    Some(source.clone()),
                    long_ro || read_only(mode.as_deref()),
                ),
                Mount::Named { volume, mode, .. } => {
                    let host = state
                        .docker
                        .volume_mountpoint(&def.volume_name(volume))
                        .await?;
                    (
                        Kind::Volume,
                        Some(volume.clone()),
                        host,
                        long_ro || read_only(mode.as_deref()),
                    )
                }
                Mount::Anonymous { .. } => (Kind::Anonymous, None, None, long_ro),
                Mount::Tmpfs { .. } => (Kind::Tmpfs, None, None, false),
            };
            let meta = host_path.as_deref().and_then(|p| std::fs::metadata(p).ok());
            let (size, measuring) = match (&host_path, &meta) {
                (Some(p), Some(_)) => state.sizes.get(std::path::Path::new(p)),
                _ => (None, false),
            };
            out.push(MountView {
                member: member.clone(),
                kind,
                source,
                target: mount.target().to_owned(),
                read_only: ro,
                exists: meta.is_some(),
                owner: meta.as_ref().map(|m| format!("{}:{}", m.uid(), m.gid())),
                mode: meta.as_ref().map(|m| m.permissions().mode() & 0o7777),
                host_path,
                size,
                measuring,
            });
        }
    }
    Ok(out)
}
