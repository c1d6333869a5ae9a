//! Folder sizes for the service page's mounts, computed in the background and cached: a request
//! never waits for a walk of a large media library; it gets the last size (and when it was
//! measured) and starts a new measurement when that is older than [`FRESH_FOR`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long a measured size is used before it is measured again.
pub const FRESH_FOR: Duration = Duration::from_secs(300);
/// A walk stops after this many entries (the size is then a lower bound, `partial`).
pub const MAX_ENTRIES: u64 = 1_000_000;

/// One measured size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Bytes of regular files under the path (links not followed, each inode once).
    pub bytes: u64,
    /// The walk stopped at [`MAX_ENTRIES`]: `bytes` is a lower bound.
    pub partial: bool,
    /// When it was measured.
    pub at: SystemTime,
}

#[derive(Debug, Default)]
struct Entry {
    size: Option<Size>,
    measuring: bool,
}

/// The cache (one per replica).
#[derive(Debug, Default, Clone)]
pub struct Sizes {
    inner: Arc<Mutex<HashMap<PathBuf, Entry>>>,
}

impl Sizes {
    /// The last size of `path` (if any) and whether a measurement is running; starts one when
    /// there is none or it is older than [`FRESH_FOR`].
    pub fn get(&self, path: &Path) -> (Option<Size>, bool) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(path.to_path_buf()).or_default();
        let stale = e
            .size
            .is_none_or(|s| s.at.elapsed().unwrap_or_default() > FRESH_FOR);
        if stale && !e.measuring {
            e.measuring = true;
            let (inner, p) = (self.inner.clone(), path.to_path_buf());
            tokio::task::spawn_blocking(move || {
                let size = measure(&p);
                let mut map = inner.lock().unwrap_or_else(|p| p.into_inner());
                let e = map.entry(p).or_default();
                e.size = Some(size);
                e.measuring = false;
            });
        }
        (e.size, e.measuring)
    }
}

/// Walks `root` (not following links, counting each inode once).
pub fn measure(root: &Path) -> Size {
    use std::os::unix::fs::MetadataExt;
    let mut bytes = 0u64;
    let mut seen = std::collections::HashSet::new();
    let mut entries = 0u64;
    let mut stack = vec![root.to_path_buf()];
    let mut partial = false;
    while let Some(p) = stack.pop() {
        entries += 1;
        if entries > MAX_ENTRIES {
            partial = true;
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
            bytes += meta.len();
        } else if meta.is_dir()
            && let Ok(rd) = std::fs::read_dir(&p)
        {
            stack.extend(rd.flatten().map(|e| e.path()));
        }
    }
    Size {
        bytes,
        partial,
        at: SystemTime::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_files_once_and_not_through_links() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), vec![0u8; 1000]).unwrap();
        std::fs::hard_link(d.path().join("a/f"), d.path().join("hard")).unwrap();
        std::os::unix::fs::symlink("/usr", d.path().join("link")).unwrap();
        let s = measure(d.path());
        assert_eq!((s.bytes, s.partial), (1000, false));
    }
}
