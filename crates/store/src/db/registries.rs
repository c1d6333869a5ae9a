//! Stored registry credentials (sealed secrets).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// One registry's credentials.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// Registry host (with port).
    pub host: String,
    /// User name.
    pub username: String,
    /// The sealed password.
    pub secret: Vec<u8>,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

/// Every stored registry.
pub async fn list(pool: &PgPool) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(
        "select host, username, secret, updated_at from registry_credentials order by host",
    )
    .fetch_all(pool)
    .await
}

/// One registry's credentials.
pub async fn get(pool: &PgPool, host: &str) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(
        "select host, username, secret, updated_at from registry_credentials where host = $1",
    )
    .bind(host)
    .fetch_optional(pool)
    .await
}

/// Stores (or replaces) a registry's credentials.
pub async fn put(
    conn: &mut PgConnection,
    host: &str,
    username: &str,
    secret: &[u8],
) -> Result<Row, sqlx::Error> {
    sqlx::query_as(
        "insert into registry_credentials (host, username, secret) values ($1, $2, $3)
         on conflict (host) do update set username = excluded.username, secret = excluded.secret, updated_at = now()
         returning host, username, secret, updated_at",
    )
    .bind(host)
    .bind(username)
    .bind(secret)
    .fetch_one(conn)
    .await
}

/// Deletes a registry's credentials; whether there were any.
pub async fn delete(conn: &mut PgConnection, host: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("delete from registry_credentials where host = $1")
        .bind(host)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}
