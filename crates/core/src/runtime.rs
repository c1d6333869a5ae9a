//! What one replica holds at run time besides its connections: the plugin runtime with its
//! loaded plugins, and the open notification batches. The behaviour lives with its users
//! (`plugins::store`, `notify`); this module only owns the state, so that `AppState` can hold it
//! without depending on them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use sdmd_plugin_host::types::{Event, EventKind};
use sdmd_plugin_host::{Plugin, PluginError, Runtime, RuntimeConfig};

/// The replica's plugin runtime (created on first use) and its loaded plugins. Cheap to clone.
#[derive(Clone, Default)]
pub struct PluginHost {
    pub(crate) inner: Arc<HostInner>,
}

#[derive(Default)]
pub(crate) struct HostInner {
    pub(crate) cache_dir: Mutex<Option<PathBuf>>,
    pub(crate) registry_set: std::sync::atomic::AtomicBool,
    pub(crate) runtime: Mutex<Option<Runtime>>,
    /// Loaded plugins by id, with the key (version + grants + config + limits) they were loaded with.
    pub(crate) loaded: Mutex<HashMap<String, (String, Plugin)>>,
}

impl PluginHost {
    /// Cache compiled plugins under this directory (`<data dir>/plugin-cache`); call before first use.
    pub fn set_cache_dir(&self, dir: PathBuf) {
        *self
            .inner
            .cache_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(dir);
    }

    /// The runtime, created on first use.
    pub fn runtime(&self) -> Result<Runtime, PluginError> {
        let mut rt = self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = rt.as_ref() {
            return Ok(r.clone());
        }
        let cache_dir = self
            .inner
            .cache_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let r = Runtime::new(RuntimeConfig {
            cache_dir,
            ..Default::default()
        })?;
        *rt = Some(r.clone());
        Ok(r)
    }
}

/// Open batches of this replica, per (plugin, kind).
#[derive(Default)]
pub struct Batches {
    pub(crate) open: tokio::sync::Mutex<HashMap<(String, EventKind), Batch>>,
    pub(crate) next_id: std::sync::atomic::AtomicU64,
}

pub(crate) struct Batch {
    /// Tells a batch's timer whether the batch it started is still the open one.
    pub(crate) id: u64,
    pub(crate) events: Vec<Event>,
}
