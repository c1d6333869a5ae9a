//! SDMD's global variables: plain ones as text, secret ones sealed (never in clear).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// One stored variable.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// Its name (an identifier).
    pub name: String,
    /// The value of a plain variable.
    pub value: Option<String>,
    /// The sealed value of a secret variable.
    pub sealed: Option<Vec<u8>>,
    /// When last stored.
    pub updated_at: DateTime<Utc>,
}

/// What to store for one variable: its value in clear, or sealed.
#[derive(Debug, Clone)]
pub enum Stored<'a> {
    /// A plain value.
    Plain(&'a str),
    /// A sealed value.
    Sealed(&'a [u8]),
}

/// Every stored variable, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as("select name, value, sealed, updated_at from variables order by name")
        .fetch_all(pool)
        .await
}

/// Every stored variable, read inside a transaction (locked for the replacement that follows).
pub async fn list_for_update(conn: &mut PgConnection) -> Result<Vec<Row>, sqlx::Error> {
    // One writer at a time: the table lock orders concurrent replacements of the whole set.
    sqlx::query("lock table variables in share row exclusive mode")
        .execute(&mut *conn)
        .await?;
    sqlx::query_as("select name, value, sealed, updated_at from variables order by name")
        .fetch_all(conn)
        .await
}

/// Stores (or replaces) one variable.
pub async fn put(conn: &mut PgConnection, name: &str, v: Stored<'_>) -> Result<(), sqlx::Error> {
    let (value, sealed) = match v {
        Stored::Plain(s) => (Some(s), None),
        Stored::Sealed(b) => (None, Some(b)),
    };
    sqlx::query(
        "insert into variables (name, value, sealed) values ($1, $2, $3)
         on conflict (name) do update set value = excluded.value, sealed = excluded.sealed, updated_at = now()",
    )
    .bind(name)
    .bind(value)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the variables named; how many there were.
pub async fn delete(conn: &mut PgConnection, names: &[String]) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("delete from variables where name = any($1)")
        .bind(names)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
