//! The app template catalogs an administrator added (URLs, in order).

use sqlx::{PgConnection, PgPool};

/// The catalog URLs, in order.
pub async fn list(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select url from template_sources order by position")
        .fetch_all(pool)
        .await
}

/// The catalog URLs, in order, locked for a replacement in this transaction.
pub async fn list_for_update(tx: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select url from template_sources order by position for update")
        .fetch_all(tx)
        .await
}

/// Replaces the list with `urls`, in order.
pub async fn replace(tx: &mut PgConnection, urls: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from template_sources")
        .execute(&mut *tx)
        .await?;
    for (i, url) in urls.iter().enumerate() {
        sqlx::query("insert into template_sources (position, url) values ($1, $2)")
            .bind(i as i32)
            .bind(url)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// One uploaded catalog file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct File {
    /// Its name (as uploaded).
    pub name: String,
    /// The catalog as sent.
    pub content: Vec<u8>,
}

/// Every uploaded catalog file, by name.
pub async fn files(pool: &PgPool) -> Result<Vec<File>, sqlx::Error> {
    sqlx::query_as("select name, content from template_files order by name")
        .fetch_all(pool)
        .await
}

/// Stores (or replaces) a catalog file; whether one of that name was there.
pub async fn put_file(
    tx: &mut PgConnection,
    name: &str,
    content: &[u8],
) -> Result<bool, sqlx::Error> {
    let replaced: Option<bool> = sqlx::query_scalar(
        "insert into template_files (name, content) values ($1, $2) on conflict (name) do update \
         set content = excluded.content, added_at = now() returning (xmax <> 0)",
    )
    .bind(name)
    .bind(content)
    .fetch_optional(tx)
    .await?;
    Ok(replaced.unwrap_or(false))
}

/// Removes a catalog file; whether it was there.
pub async fn delete_file(tx: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("delete from template_files where name = $1")
        .bind(name)
        .execute(tx)
        .await?
        .rows_affected()
        > 0)
}
