//! SDMD: self-hosted Docker management. The `sdmd` binary is a thin shim over this library.
pub mod plugins;
