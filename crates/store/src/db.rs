//! PostgreSQL access. **Architecture Invariant:** this is the only module holding SQL text.

pub mod audit;
pub mod auth;
pub mod notify;
pub mod observe;
pub mod plugins;
pub mod registries;
pub mod roots;
pub mod schedules;
pub mod services;
pub mod templates;
pub mod updates;
pub mod variables;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

/// The handles the layers above hold: a pool, a connection, a transaction, and the error.
pub use sqlx::{Connection, Error as DbError, PgConnection, PgPool};

/// A transaction on the pool.
pub type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// The constraint a failed statement violated (a unique key, …), if that is why it failed.
pub fn violated_constraint(e: &DbError) -> Option<&str> {
    match e {
        DbError::Database(d) => d.constraint(),
        _ => None,
    }
}

/// Parses a text column into one of the model's text enums: a value this build does not know is
/// a decode error naming the column, never a default.
pub fn text_column<T>(column: &str, text: &str) -> Result<T, DbError>
where
    T: std::str::FromStr<Err = sdmd_model::text_enum::UnknownValue>,
{
    text.parse().map_err(|e| DbError::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

/// How a database failure should be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached right now (pool timeout, I/O, closed pool): retry.
    Unavailable,
    /// A value PostgreSQL text cannot hold (a NUL character, SQLSTATE 22021): the input's fault.
    UnstorableText,
    /// Anything else: a fault of SDMD or the database.
    Other,
}

/// Classifies a database error by its kind and SQLSTATE, never by message text.
pub fn classify(e: &DbError) -> Failure {
    match e {
        DbError::PoolTimedOut | DbError::Io(_) | DbError::PoolClosed => Failure::Unavailable,
        DbError::Database(d) if d.code().as_deref() == Some("22021") => Failure::UnstorableText,
        _ => Failure::Other,
    }
}

/// Connects a pool to the server of `url` as another role.
pub async fn connect_as(url: &str, user: &str, password: &str) -> Result<PgPool, DbError> {
    use std::str::FromStr;
    let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
        .username(user)
        .password(password);
    connect_with(opts).await
}

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
