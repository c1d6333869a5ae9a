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
    /// The dashboard's static export to serve; default: `frontend/out` of the workspace the
    /// binary was built in, when it holds a build.
    #[arg(long, env = "SDMD_UI_DIR")]
    pub ui_dir: Option<PathBuf>,
    /// 32 random bytes, base64: seals stored registry passwords and keys the audit chain's HMAC
    /// links (derived with HKDF); replicas must share it. Unset:
    /// generated once into `<data dir>/secret.key`.
    #[arg(long, env = "SDMD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Append-only export of every audit row as it is committed: `file:/path/audit.jsonl` (JSON
    /// lines, opened O_APPEND). Compare with `sdmd audit verify --against FILE`.
    #[arg(long, env = "SDMD_AUDIT_SINK")]
    pub audit_sink: Option<String>,
    /// External PostgreSQL; unset runs the embedded cluster in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Docker endpoint (`unix:///var/run/docker.sock`, `tcp://…`); unset uses the local socket.
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// TLS mode: `auto` (self-signed certificate generated once in the data dir), `files`
    /// (`SDMD_TLS_CERT` and `SDMD_TLS_KEY`, reloaded on SIGHUP) or `off` (behind a TLS proxy).
    #[arg(long, env = "SDMD_TLS", value_enum, default_value = "auto")]
    pub tls: TlsMode,
    /// PEM certificate chain for `SDMD_TLS=files`.
    #[arg(long, env = "SDMD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `SDMD_TLS=files`.
    #[arg(long, env = "SDMD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Reverse proxies (addresses or CIDRs, comma-separated) whose `X-Forwarded-For` header names
    /// the client, for audit rows and login throttling. Unset: the TCP peer is the client.
    #[arg(long, env = "SDMD_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Authentication settings.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Project directories of services (`<stacks>/<service>/`: relative binds, `.env`,
    /// secrets); point it at `/opt/stacks` to share a layout with Dockge. Default
    /// `<data dir>/stacks`.
    #[arg(long, env = "SDMD_STACKS_DIR")]
    pub stacks_dir: Option<PathBuf>,
    /// The data root of standard folders (`<root>/<service>/`, `${APPDATA}`); created at start.
    /// Default: the stacks directory.
    #[arg(long, env = "SDMD_APPDATA_DIR")]
    pub appdata_dir: Option<PathBuf>,
    /// How owners of bind sources are changed: `auto` (in this process as root, else through a
    /// short-lived helper container of the member's image with only CAP_CHOWN), `always` (the
    /// helper) or `never` (in this process).
    #[arg(long, env = "SDMD_CHOWN_HELPER", value_enum, default_value_t = ChownHelper::Auto)]
    pub chown_helper: ChownHelper,
    /// A YAML or JSON file with the definition policy (what no service may do on this host:
    /// privileged, host namespaces, the Docker socket, devices, bind roots, capabilities); see
    /// docs/security.md. Off when unset.
    #[arg(long, env = "SDMD_POLICY")]
    pub policy: Option<PathBuf>,
    /// A dotenv-format file of global variables for interpolation (after each service's `.env`).
    #[arg(long, env = "SDMD_VARIABLES")]
    pub variables: Option<PathBuf>,
    /// Resource sampling of running containers: every this many seconds (at least 1), or `off`.
    #[arg(long, env = "SDMD_STATS_INTERVAL", default_value = "5", value_parser = parse_interval)]
    pub stats_interval: StatsInterval,
    /// Where figures come from: `auto` (the cgroup files, the Engine's one-shot stats for
    /// containers whose files cannot be read) or `engine` (always the Engine).
    #[arg(long, env = "SDMD_STATS_SOURCE", value_enum, default_value_t = StatsSourceSetting::Auto)]
    pub stats_source: StatsSourceSetting,
    /// Keep samples in PostgreSQL (24 h full resolution, 7 days of minutes, 90 days of quarter
    /// hours); `false` keeps only the live figures in memory.
    #[arg(long, env = "SDMD_STATS_STORE", default_value_t = true, action = clap::ArgAction::Set)]
    pub stats_store: bool,
    /// The host's cgroup mount as this process sees it (mount the host's at another path when
    /// SDMD runs in a container).
    #[arg(long, env = "SDMD_STATS_CGROUP_ROOT", default_value = "/sys/fs/cgroup")]
    pub stats_cgroup_root: PathBuf,
    /// The host's proc mount as this process sees it (network counters of containers).
    #[arg(long, env = "SDMD_STATS_PROC_ROOT", default_value = "/proc")]
    pub stats_proc_root: PathBuf,
    /// Days of status and health history kept (at least 90).
    #[arg(long, env = "SDMD_HISTORY_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(90..=3650))]
    pub history_days: i64,
    /// Log format: `text` or `json`.
    #[arg(long, env = "SDMD_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

pub use crate::auth::{AuthConfig, AuthMode};

/// `SDMD_STATS_INTERVAL`: seconds, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsInterval(pub Option<std::time::Duration>);

fn parse_interval(s: &str) -> Result<StatsInterval, String> {
    if matches!(s.trim(), "off" | "false" | "0") {
        return Ok(StatsInterval(None));
    }
    let n: u64 = s
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s:?} is neither a number of seconds nor `off`"))?;
    if !(1..=3600).contains(&n) {
        return Err(format!("{n} s is outside 1..=3600 seconds"));
    }
    Ok(StatsInterval(Some(std::time::Duration::from_secs(n))))
}

/// `SDMD_STATS_SOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsSourceSetting {
    /// The cgroup files, the Engine where they cannot be read.
    Auto,
    /// Always the Engine's one-shot stats.
    Engine,
}

/// `SDMD_CHOWN_HELPER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChownHelper {
    /// The helper exactly when sdmd does not run as root.
    Auto,
    /// Always the helper.
    Always,
    /// Never the helper.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_interval_is_seconds_or_off() {
        use std::time::Duration;
        assert_eq!(
            parse_interval("5"),
            Ok(StatsInterval(Some(Duration::from_secs(5))))
        );
        assert_eq!(
            parse_interval("1s"),
            Ok(StatsInterval(Some(Duration::from_secs(1))))
        );
        assert_eq!(parse_interval("off"), Ok(StatsInterval(None)));
        assert!(parse_interval("0.5").is_err());
        assert!(parse_interval("7200").is_err());
        assert!(parse_interval("fast").unwrap_err().contains("`off`"));
    }
}
