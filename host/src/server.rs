//! `sdmd serve`: configuration → database (embedded or external) → migrations → Docker watcher →
//! HTTP server with graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use sha2::Digest;

use crate::auth::Auth;
use crate::config::ServeConfig;
use crate::docker::Docker;
use crate::pg::EmbeddedPostgres;
use crate::state::AppState;

/// Sets up logging once (`RUST_LOG`, default `info`; JSON with `SDMD_LOG_FORMAT=json`).
pub fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::new(log_directives(
        std::env::var("RUST_LOG").ok().as_deref(),
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if result.is_err() {
        // Already initialised (tests, or a second call): keep the first subscriber.
    }
}

/// The log filter: `RUST_LOG` (default `info`), with bollard capped at `info` unless `RUST_LOG`
/// names it: at debug bollard logs request bodies — container create bodies carry environment
/// values (secrets from `.env`), pulls carry registry credentials. Naming `bollard=debug`
/// explicitly is an informed choice.
fn log_directives(rust_log: Option<&str>) -> String {
    let base = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info,tokio_cron_scheduler=warn");
    if base.contains("bollard") {
        base.to_owned()
    } else {
        format!("{base},bollard=info")
    }
}

/// Opens the database the configuration names, starting the embedded cluster when none is set,
/// and applies migrations. The pool connects as the configured (possibly superuser) role: use it
/// for maintenance; [`app_pool`] gives the server's least-privileged pool.
pub async fn open_database(
    cfg: &ServeConfig,
) -> anyhow::Result<(crate::db::PgPool, Option<EmbeddedPostgres>)> {
    let (pool, _, embedded) = open_database_with_url(cfg).await?;
    Ok((pool, embedded))
}

async fn open_database_with_url(
    cfg: &ServeConfig,
) -> anyhow::Result<(crate::db::PgPool, String, Option<EmbeddedPostgres>)> {
    let (url, embedded) = match &cfg.database_url {
        Some(url) => (url.clone(), None),
        None => {
            std::fs::create_dir_all(&cfg.data_dir)
                .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
            let data_dir = cfg.data_dir.canonicalize()?;
            let (pg, url) = EmbeddedPostgres::start(&data_dir).await?;
            (url, Some(pg))
        }
    };
    let pool = crate::db::connect(&url)
        .await
        .context("connecting to PostgreSQL")?;
    crate::db::migrate(&pool)
        .await
        .context("running migrations")?;
    Ok((pool, url, embedded))
}

/// The pool the server runs with. When `admin` is a superuser (the embedded cluster, or a
/// superuser `DATABASE_URL`), SDMD creates the non-superuser role `sdmd_app` — no UPDATE, DELETE
/// or TRUNCATE on `audit_log` — and connects as it. Its password is derived from the admin URL,
/// so every replica configured with the same URL derives the same one. Otherwise the configured
/// role is used as is (grant it the same rights; docs/security.md).
///
/// Returns `None` when the configured role is not a superuser: keep using that pool.
pub async fn app_pool(
    admin: &crate::db::PgPool,
    admin_url: &str,
) -> anyhow::Result<Option<crate::db::PgPool>> {
    if !crate::db::auth::is_superuser(admin)
        .await
        .context("checking the database role")?
    {
        if crate::db::auth::may_rewrite_audit(admin)
            .await
            .context("checking audit privileges")?
        {
            tracing::warn!(
                "the database role may UPDATE or DELETE audit_log rows: revoke update, delete, truncate on audit_log from it (docs/security.md)"
            );
        }
        return Ok(None);
    }
    let password = hex::encode(sha2::Sha256::digest(
        format!("sdmd_app\0{admin_url}").as_bytes(),
    ));
    let mut attempt = 0;
    // Concurrent starts (replicas, tests) may race on the cluster-wide role: retry briefly.
    loop {
        match crate::db::auth::ensure_app_role(admin, &password).await {
            Ok(()) => break,
            Err(e) if attempt < 5 => {
                attempt += 1;
                tracing::debug!(error = %e, "retrying the application role setup");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            Err(e) => return Err(e).context("creating the application role sdmd_app"),
        }
    }
    let pool = crate::db::connect_as(admin_url, crate::db::auth::APP_ROLE, &password)
        .await
        .context("connecting as sdmd_app")?;
    tracing::info!("connected to PostgreSQL as the least-privileged role sdmd_app");
    Ok(Some(pool))
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    crate::tls::install_crypto_provider();
    cfg.auth
        .clone()
        .normalized()
        .validate()
        .map_err(anyhow::Error::msg)?;
    let tls_files = crate::tls::material(&cfg)?;
    let sink_cfg = cfg
        .audit_sink
        .as_deref()
        .map(crate::audit_sink::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    // The audit chain's HMAC key, before anything is recorded (the first administrator is).
    let master = crate::secrets::master_key(cfg.secret_key.as_deref(), &cfg.data_dir, true)?
        .context("no secret key")?;
    crate::db::audit::install_key(crate::db::audit::AuditKey::derive(&master))
        .map_err(anyhow::Error::msg)?;
    let (admin, url, embedded) = open_database_with_url(&cfg).await?;
    let pool = match app_pool(&admin, &url).await? {
        Some(pool) => {
            admin.close().await;
            pool
        }
        None => admin,
    };
    let auth = prepare_auth(&cfg, &pool).await?;
    let state = build_state(&cfg, pool.clone(), auth, tls_files.as_ref().map(|(c, _)| c))?;
    if let Some(warning) = crate::api::client_ip::proxy_warning(state.tls, &state.trusted_proxies) {
        tracing::warn!("{warning}");
    }
    let tasks = Background::spawn(&state, embedded.as_ref(), sink_cfg.as_ref()).await?;
    let listener = std::net::TcpListener::bind(cfg.listen)
        .with_context(|| format!("binding {}", cfg.listen))?;
    listener.set_nonblocking(true)?;
    let shutdown = state.shutdown.clone();
    let app = crate::api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let (shutdown, handle) = (shutdown.clone(), handle.clone());
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            // Ends SSE streams and the watcher so graceful shutdown can complete.
            shutdown.cancel();
            handle.graceful_shutdown(Some(Duration::from_secs(30)));
        }
    });
    let served = serve_http(&cfg, listener, app, handle, tls_files.as_ref(), &shutdown).await?;
    shutdown.cancel();
    tasks.stop().await;
    pool.close().await;
    if let Some(pg) = embedded {
        pg.stop().await?;
        tracing::info!("embedded PostgreSQL stopped");
    }
    served.context("serving HTTP")
}

/// Authentication for the server: the first administrator from the environment when set, the
/// keys warmed up, and else (no administrator yet) a one-time setup code, in the log and on the
/// terminal (the banner only with text logs, so JSON logs stay one object per line).
async fn prepare_auth(
    cfg: &ServeConfig,
    pool: &crate::db::PgPool,
) -> anyhow::Result<std::sync::Arc<Auth>> {
    let admin_password = cfg
        .auth
        .admin_password()
        .context("reading SDMD_ADMIN_PASSWORD_FILE")?;
    crate::auth::builtin::bootstrap_admin(
        pool,
        cfg.auth.admin_email.as_deref(),
        admin_password.as_deref(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the first administrator: {e}"))?;
    let auth = Auth::new(cfg.auth.clone());
    auth.warm_up(pool)
        .await
        .map_err(|e| anyhow::anyhow!("preparing authentication: {e}"))?;
    auth.issue_setup_code(pool, cfg.log_format != "json")
        .await
        .map_err(|e| anyhow::anyhow!("checking for a first administrator: {e}"))?;
    Ok(auth)
}

/// The server's background tasks, stopped after the HTTP server.
struct Background {
    watcher: tokio::task::JoinHandle<()>,
    invalidation: tokio::task::JoinHandle<()>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
    scheduler: tokio::task::JoinHandle<()>,
    auth_upkeep: tokio::task::JoinHandle<()>,
    sink: Option<tokio::task::JoinHandle<()>>,
    sink_stop: tokio_util::sync::CancellationToken,
}

impl Background {
    async fn spawn(
        state: &AppState,
        embedded: Option<&EmbeddedPostgres>,
        sink_cfg: Option<&crate::audit_sink::SinkConfig>,
    ) -> anyhow::Result<Self> {
        let watcher = state.spawn_watcher();
        // Resource samples and their rollups (the history recorder runs inside the watcher).
        state.spawn_observability();
        // Principals and stored state from memory, evicted on every replica through LISTEN/NOTIFY.
        let invalidation = state.spawn_invalidation();
        // sdmd owns the embedded cluster: a crash or a stop under it is repaired, not served as 503s.
        let supervisor = embedded
            .and_then(|pg| pg.supervise(state.shutdown.clone(), Duration::from_millis(250)));
        let scheduler = tokio::spawn(crate::schedule::run(state.clone()));
        // Stopped after every task that may still write audit rows, so its last export has them.
        let sink_stop = tokio_util::sync::CancellationToken::new();
        let sink = match sink_cfg {
            Some(crate::audit_sink::SinkConfig::File(path)) => {
                let sink = crate::audit_sink::FileSink::open(path, &state.db).await?;
                tracing::info!(path = %path.display(), "exporting the audit log (SDMD_AUDIT_SINK)");
                Some(tokio::spawn(crate::audit_sink::run(
                    state.db.clone(),
                    sink,
                    sink_stop.clone(),
                )))
            }
            None => None,
        };
        let auth_upkeep = tokio::spawn(crate::auth::builtin::run_maintenance(
            state.db.clone(),
            state.shutdown.clone(),
        ));
        Ok(Background {
            watcher,
            invalidation,
            supervisor,
            scheduler,
            auth_upkeep,
            sink,
            sink_stop,
        })
    }

    /// Waits for the tasks to end (the shutdown token is cancelled), each for a while; the
    /// audit sink last, once nothing writes audit rows any more.
    async fn stop(self) {
        stop_within(self.watcher, 5, "the docker watcher").await;
        stop_within(self.scheduler, 5, "the scheduler").await;
        stop_within(self.auth_upkeep, 5, "the auth upkeep task").await;
        stop_within(self.invalidation, 5, "the cache invalidation listener").await;
        self.sink_stop.cancel();
        if let Some(h) = self.sink
            && tokio::time::timeout(Duration::from_secs(10), h)
                .await
                .is_err()
        {
            tracing::warn!("the audit sink did not finish its last export in time");
        }
        if let Some(h) = self.supervisor {
            stop_within(h, 15, "the embedded PostgreSQL supervisor").await;
        }
    }
}

/// Waits up to `secs` for a background task to end, else says so.
async fn stop_within(task: tokio::task::JoinHandle<()>, secs: u64, what: &str) {
    if tokio::time::timeout(Duration::from_secs(secs), task)
        .await
        .is_err()
    {
        tracing::warn!("{what} did not stop in time");
    }
}

/// Serves the API on `listener` until the handle's graceful shutdown: plain HTTP, or HTTPS with
/// the certificate reloaded on SIGHUP. The outer error is the setup's, the inner the server's.
async fn serve_http(
    cfg: &ServeConfig,
    listener: std::net::TcpListener,
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
    handle: axum_server::Handle,
    tls_files: Option<&(PathBuf, PathBuf)>,
    shutdown: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<std::io::Result<()>> {
    let Some((cert, key)) = tls_files else {
        tracing::info!(listen = %cfg.listen, "sdmd serving (http, SDMD_TLS=off)");
        return Ok(axum_server::from_tcp(listener)
            .handle(handle)
            .serve(app)
            .await);
    };
    let fingerprint = crate::tls::fingerprint(cert)?;
    let tls = RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    tracing::info!(listen = %cfg.listen, cert = %cert.display(), sha256 = %fingerprint, "sdmd serving (https)");
    tokio::spawn(reload_on_sighup(
        tls.clone(),
        cert.clone(),
        key.clone(),
        shutdown.clone(),
    ));
    Ok(axum_server::from_tcp_rustls(listener, tls)
        .handle(handle)
        .serve(app)
        .await)
}

/// Reloads the certificate and key on SIGHUP (renewed certificates without a restart); a bad
/// pair is logged and the previous one kept.
async fn reload_on_sighup(
    tls: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP: certificate reload disabled");
            return;
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            got = hup.recv() => if got.is_none() { return },
        }
        match tls.reload_from_pem_file(&cert, &key).await {
            Ok(()) => {
                let fp = crate::tls::fingerprint(&cert).unwrap_or_else(|e| e.to_string());
                tracing::info!(cert = %cert.display(), sha256 = %fp, "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS reload failed; keeping the previous certificate")
            }
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// The application state from the configuration: every setting read, parsed and checked here,
/// so a bad file stops the start with its name.
fn build_state(
    cfg: &ServeConfig,
    pool: crate::db::PgPool,
    auth: std::sync::Arc<Auth>,
    tls_cert: Option<&std::path::PathBuf>,
) -> anyhow::Result<AppState> {
    let mut b = AppState::builder(pool, Docker::new(cfg.docker_host.clone()))
        .auth(auth)
        .secrets(crate::secrets::SecretBox::load(
            cfg.secret_key.as_deref(),
            &cfg.data_dir,
        )?)
        .plugin_cache_dir(cfg.data_dir.join("plugin-cache"))
        .stacks_dir(stacks_dir(cfg)?)
        .ui_dir(cfg.ui_dir.clone().or_else(crate::api::ui::default_dir));
    if let Some(dir) = &cfg.appdata_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating SDMD_APPDATA_DIR {}", dir.display()))?;
        b = b.appdata_dir(
            dir.canonicalize()
                .with_context(|| format!("resolving {}", dir.display()))?,
        );
    }
    b = b.chown_via_helper(match cfg.chown_helper {
        crate::config::ChownHelper::Auto => !crate::permissions::running_as_root(),
        crate::config::ChownHelper::Always => true,
        crate::config::ChownHelper::Never => false,
    });
    b = b.stats(crate::observe::StatsConfig {
        interval: cfg.stats_interval.0,
        roots: sdmd_engine::stats::Roots {
            cgroup: cfg.stats_cgroup_root.clone(),
            proc: cfg.stats_proc_root.clone(),
        },
        force_engine: cfg.stats_source == crate::config::StatsSourceSetting::Engine,
        store: cfg.stats_store,
        history_days: cfg.history_days,
        // Hidden knob for tests of the rollup across replicas; users get the minute.
        rollup_every: std::env::var("SDMD_ROLLUP_EVERY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(Duration::from_secs(60), Duration::from_millis),
    });
    if let Some(cert) = tls_cert {
        b = b.tls(crate::tls::fingerprint(cert)?);
    }
    // Hidden knob for tests of stream re-checks; the default (30 s) is what users get.
    if let Some(ms) = std::env::var("SDMD_STREAM_RECHECK_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
    {
        b = b.stream_recheck(std::time::Duration::from_millis(ms));
    }
    if let Some(path) = &cfg.policy {
        b = b.policy(policy(path)?);
    }
    if let Some(path) = &cfg.variables {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading SDMD_VARIABLES {}", path.display()))?;
        let vars = crate::spec::dotenv::parse(&text, |_| None)
            .map_err(|e| anyhow::anyhow!("SDMD_VARIABLES {}: {e}", path.display()))?;
        b = b.variables(vars);
    }
    if let Some(list) = &cfg.trusted_proxies {
        let nets = crate::api::client_ip::parse_list(list)
            .map_err(|e| anyhow::anyhow!("SDMD_TRUSTED_PROXIES: {e}"))?;
        b = b.trusted_proxies(nets);
    }
    let state = b.build();
    match &state.ui_dir {
        Some(dir) => tracing::info!(dir = %dir.display(), "serving the dashboard"),
        None => tracing::info!("no dashboard build found: `/` explains how to build it"),
    }
    Ok(state)
}

/// The project directories' root, created, absolute (relative bind paths resolve to the same
/// place whatever the working directory).
fn stacks_dir(cfg: &ServeConfig) -> anyhow::Result<std::path::PathBuf> {
    let stacks = cfg
        .stacks_dir
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("stacks"));
    std::fs::create_dir_all(&stacks)
        .with_context(|| format!("creating the stacks directory {}", stacks.display()))?;
    stacks
        .canonicalize()
        .with_context(|| format!("resolving {}", stacks.display()))
}

/// `SDMD_POLICY`, read and validated.
fn policy(path: &std::path::Path) -> anyhow::Result<crate::spec::policy::Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading SDMD_POLICY {}", path.display()))?;
    let policy: crate::spec::policy::Policy = serde_norway::from_str(&text)
        .map_err(|e| anyhow::anyhow!("SDMD_POLICY {}: {e}", path.display()))?;
    policy
        .validate()
        .map_err(|e| anyhow::anyhow!("SDMD_POLICY {}: {e}", path.display()))?;
    tracing::info!(policy = ?policy, "definition policy in force");
    Ok(policy)
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn bollard_stays_at_info_unless_named() {
        assert_eq!(
            super::log_directives(None),
            "info,tokio_cron_scheduler=warn,bollard=info"
        );
        assert_eq!(super::log_directives(Some("debug")), "debug,bollard=info");
        assert_eq!(
            super::log_directives(Some("debug,bollard=debug")),
            "debug,bollard=debug"
        );
    }
}
