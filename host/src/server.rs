//! `sdmd serve`: configuration → database (embedded or external) → migrations → Docker watcher →
//! HTTP server with graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::{ServeConfig, TlsMode};
use crate::docker::Docker;
use crate::pg::EmbeddedPostgres;
use crate::state::AppState;

/// Sets up logging once (`RUST_LOG`, default `info`; JSON with `SDMD_LOG_FORMAT=json`).
pub fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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

/// Opens the database the configuration names, starting the embedded cluster when none is set.
pub async fn open_database(
    cfg: &ServeConfig,
) -> anyhow::Result<(sqlx::PgPool, Option<EmbeddedPostgres>)> {
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
    Ok((pool, embedded))
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    if cfg.tls != TlsMode::Off {
        bail!(
            "SDMD_TLS={:?} is not available in this release yet: set SDMD_TLS=off (and put a TLS proxy in front)",
            cfg.tls
        );
    }
    let (pool, embedded) = open_database(&cfg).await?;
    let state = AppState::new(pool.clone(), Docker::new(cfg.docker_host.clone()));
    state
        .plugins
        .set_cache_dir(cfg.data_dir.join("plugin-cache"));
    let watcher = state.spawn_watcher();
    let scheduler = tokio::spawn(crate::schedule::run(state.clone(), Duration::from_secs(20)));
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, "sdmd serving (http)");
    let shutdown = state.shutdown.clone();
    let app = crate::api::app(state);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let shutdown = shutdown.clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            // Ends SSE streams and the watcher so graceful shutdown can complete.
            shutdown.cancel();
        }
    });
    let served = server.await;
    shutdown.cancel();
    if tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .is_err()
    {
        tracing::warn!("the docker watcher did not stop in time");
    }
    if tokio::time::timeout(Duration::from_secs(5), scheduler)
        .await
        .is_err()
    {
        tracing::warn!("the scheduler did not stop in time");
    }
    pool.close().await;
    if let Some(pg) = embedded {
        pg.stop().await?;
        tracing::info!("embedded PostgreSQL stopped");
    }
    served.context("serving HTTP")
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
