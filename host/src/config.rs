//! Server configuration: flags mirror environment variables (DESIGN §8).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How SDMD serves TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    /// A self-signed certificate generated once in the data dir.
    Auto,
    /// Plain HTTP, for running behind a TLS-terminating proxy.
    Off,
    /// Certificate and key from `SDMD_TLS_CERT` / `SDMD_TLS_KEY`.
    Files,
}

/// Settings of `sdmd serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address and port to serve on.
    #[arg(long, env = "SDMD_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Embedded PostgreSQL, TLS material and caches live here.
    #[arg(long, env = "SDMD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// External PostgreSQL; unset runs the embedded cluster in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Docker endpoint (`unix:///var/run/docker.sock`, `tcp://…`); unset uses the local socket.
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// TLS mode. Only `off` is available in this release; `auto` and `files` arrive with TLS support.
    #[arg(long, env = "SDMD_TLS", value_enum, default_value = "off")]
    pub tls: TlsMode,
    /// Log format: `text` or `json`.
    #[arg(long, env = "SDMD_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}
