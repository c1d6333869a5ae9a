//! The `sdmd` binary: see the library crate.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sdmd::cli::main().await
}
