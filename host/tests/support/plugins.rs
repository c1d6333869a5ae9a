//! The guest plugin builds (`plugins/build.sh` writes them to `plugins/dist`) and the compile
//! cache every plugin test shares, so the JS component (seconds to compile) compiles once.

use std::path::PathBuf;
use std::sync::Arc;

/// The path of `plugins/dist/<name>.wasm`; panics with how to build it when it is missing.
pub fn wasm_path(name: &str) -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the guest plugins first (plugins/build.sh)",
        path.display()
    );
    path
}

/// The bytes of `plugins/dist/<name>.wasm`.
pub fn wasm(name: &str) -> Arc<[u8]> {
    let path = wasm_path(name);
    match std::fs::read(&path) {
        Ok(b) => b.into(),
        Err(e) => panic!(
            "{}: {e}. Build the guest plugins first: plugins/build.sh",
            path.display()
        ),
    }
}

/// One compile cache for all test runs.
pub fn cache_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

/// A plugin runtime on the shared compile cache.
pub fn runtime() -> sdmd::plugins::Runtime {
    sdmd::plugins::Runtime::new(sdmd::plugins::RuntimeConfig {
        cache_dir: Some(cache_dir()),
        ..Default::default()
    })
    .expect("runtime")
}
