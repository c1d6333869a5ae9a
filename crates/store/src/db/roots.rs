//! Shared roots: named folders several apps use (`${MEDIA}` → `/srv/media`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// One stored root.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Root {
    /// Its variable name.
    pub name: String,
    /// The absolute host path.
    pub path: String,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

/// Every root, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<Root>, sqlx::Error> {
    sqlx::query_as("select name, path, updated_at from shared_roots order by name")
        .fetch_all(pool)
        .await
}

/// Every root, by name, locked for a replacement in this transaction.
pub async fn list_for_update(tx: &mut PgConnection) -> Result<Vec<Root>, sqlx::Error> {
    sqlx::query_as("select name, path, updated_at from shared_roots order by name for update")
        .fetch_all(tx)
        .await
}

/// Replaces the set with `roots` (name, path); an unchanged root keeps its `updated_at`.
pub async fn replace(tx: &mut PgConnection, roots: &[(String, String)]) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = roots.iter().map(|(n, _)| n.as_str()).collect();
    sqlx::query("delete from shared_roots where not (name = any($1))")
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    for (name, path) in roots {
        sqlx::query(
            "insert into shared_roots (name, path) values ($1, $2) on conflict (name) do update \
             set path = excluded.path, updated_at = now() where shared_roots.path <> excluded.path",
        )
        .bind(name)
        .bind(path)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
