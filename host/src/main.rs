//! The `sdmd` binary: see the library crate.

use std::process::ExitCode;

fn main() -> ExitCode {
    release_large_blocks();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sdmd: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(sdmd::cli::main())
}

/// Keeps glibc's malloc from holding on to large freed blocks. By default it raises its mmap
/// threshold to the size of the largest block freed so far (up to 32 MiB): after the first
/// password hash (argon2id allocates one 19 MiB block) every later one came from an arena and
/// stayed resident once freed, ~24 MiB of the 72 MiB sdmd held with 200 containers. A fixed
/// threshold (the default's starting value, 128 KiB) serves such blocks with mmap and returns
/// them on free: 33 MiB with the same load, throughput unchanged (docs/benchmarks.md).
/// Set before the runtime starts any thread; `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…`
/// cannot undo it (mallopt wins), which is the point: the bound holds however sdmd is started. The one
/// `unsafe` of the binary: an FFI call without pointers.
#[allow(unsafe_code)]
fn release_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists, and M_MMAP_THRESHOLD takes a byte count.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
