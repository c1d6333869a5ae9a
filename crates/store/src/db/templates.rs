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
