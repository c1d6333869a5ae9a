//! PostgreSQL access. **Architecture Invariant:** this is the only module holding SQL text.

pub mod audit;
pub mod auth;
pub mod plugins;
pub mod registries;
pub mod schedules;
pub mod services;
pub mod updates;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Migrations embedded from the workspace's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Connects a pool to `url`.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// Connects a pool with explicit options.
pub async fn connect_with(opts: sqlx::postgres::PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
}

/// Creates the database `sdmd` in a cluster when it is missing (the embedded PostgreSQL).
pub async fn ensure_sdmd_database(admin: &PgPool) -> Result<(), sqlx::Error> {
    let exists: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = 'sdmd'")
        .fetch_optional(admin)
        .await?;
    if exists.is_none() {
        sqlx::query("create database sdmd").execute(admin).await?;
    }
    Ok(())
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Checks the database answers.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("select 1").execute(pool).await.map(|_| ())
}
