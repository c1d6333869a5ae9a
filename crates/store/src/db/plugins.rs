//! The plugin store: plugins, their uploaded versions, and which services use them.

use chrono::{DateTime, Utc};
use sdmd_model::plugins::BindingRole;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use super::text_column;

/// A plugin with its current version's manifest (no bytes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PluginRow {
    /// Manifest id.
    pub id: String,
    /// SHA-256 of the current version's wasm.
    pub current_sha256: String,
    /// The current version's own version string.
    pub version: String,
    /// The current version's manifest.
    pub manifest: Json<Value>,
    /// What validation found for the current version.
    pub inspection: Json<Value>,
    /// Size of the current wasm.
    pub size: i32,
    /// The admin's grants.
    pub grants: Json<Value>,
    /// The admin's settings.
    pub config: Json<Value>,
    /// Per-plugin limits.
    pub limits: Json<Value>,
    /// Delivery options (notifiers).
    pub delivery: Json<Value>,
    /// Whether services may use it.
    pub enabled: bool,
    /// First upload.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One uploaded version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    /// SHA-256 of its wasm.
    pub sha256: String,
    /// Its version string.
    pub version: String,
    /// Its size.
    pub size: i32,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

const SELECT: &str =
    "select p.id, p.current_sha256, v.version, v.manifest, v.inspection, v.size, p.grants,
        p.config, p.limits, p.delivery, p.enabled, p.created_at, p.updated_at
    from plugins p join plugin_versions v on v.plugin_id = p.id and v.sha256 = p.current_sha256";

/// All plugins by id.
pub async fn list(pool: &PgPool) -> Result<Vec<PluginRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} order by p.id")))
        .fetch_all(pool)
        .await
}

/// One plugin.
pub async fn get(conn: &mut PgConnection, id: &str) -> Result<Option<PluginRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where p.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One plugin, locked for the rest of the transaction.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<PluginRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where p.id = $1 for update of p"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The wasm bytes of a version.
pub async fn wasm(pool: &PgPool, id: &str, sha256: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("select wasm from plugin_versions where plugin_id = $1 and sha256 = $2")
        .bind(id)
        .bind(sha256)
        .fetch_optional(pool)
        .await
}

/// All versions of a plugin, newest first.
pub async fn versions(conn: &mut PgConnection, id: &str) -> Result<Vec<VersionRow>, sqlx::Error> {
    sqlx::query_as(
        "select sha256, version, size, uploaded_by, uploaded_at from plugin_versions
         where plugin_id = $1 order by uploaded_at desc",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// A new plugin row pointing at `sha256` (insert the version in the same transaction).
pub async fn insert_plugin(
    conn: &mut PgConnection,
    id: &str,
    sha256: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into plugins (id, current_sha256) values ($1, $2)")
        .bind(id)
        .bind(sha256)
        .execute(conn)
        .await
        .map(drop)
}

/// A version to store.
pub struct NewVersion<'a> {
    /// Plugin id.
    pub id: &'a str,
    /// SHA-256 of the bytes.
    pub sha256: &'a str,
    /// Its version string.
    pub version: &'a str,
    /// Manifest.
    pub manifest: &'a Value,
    /// Inspection.
    pub inspection: &'a Value,
    /// The bytes.
    pub wasm: &'a [u8],
    /// Uploader.
    pub uploaded_by: &'a str,
}

/// Store a version; uploading identical bytes again is a no-op. Returns whether it was new.
pub async fn insert_version(
    conn: &mut PgConnection,
    v: &NewVersion<'_>,
) -> Result<bool, sqlx::Error> {
    let size = i32::try_from(v.wasm.len()).unwrap_or(i32::MAX);
    let done = sqlx::query(
        "insert into plugin_versions (plugin_id, sha256, version, manifest, inspection, wasm, size, uploaded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (plugin_id, sha256) do nothing",
    )
    .bind(v.id)
    .bind(v.sha256)
    .bind(v.version)
    .bind(Json(v.manifest))
    .bind(Json(v.inspection))
    .bind(v.wasm)
    .bind(size)
    .bind(v.uploaded_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The mutable settings of a plugin.
pub struct Settings<'a> {
    /// Current version.
    pub current_sha256: &'a str,
    /// Grants.
    pub grants: &'a Value,
    /// Settings.
    pub config: &'a Value,
    /// Limits.
    pub limits: &'a Value,
    /// Enabled flag.
    pub enabled: bool,
}

/// Replace a plugin's settings.
pub async fn update(
    conn: &mut PgConnection,
    id: &str,
    s: &Settings<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update plugins set current_sha256 = $2, grants = $3, config = $4, limits = $5, enabled = $6,
         updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(s.current_sha256)
    .bind(Json(s.grants))
    .bind(Json(s.config))
    .bind(Json(s.limits))
    .bind(s.enabled)
    .execute(conn)
    .await
    .map(drop)
}

/// Replace a plugin's delivery options.
pub async fn set_delivery(
    conn: &mut PgConnection,
    id: &str,
    delivery: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("update plugins set delivery = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(Json(delivery))
        .execute(conn)
        .await
        .map(drop)
}

/// Claims the right to notify `plugin` about (`service`, `kind`) now: true unless it was told
/// within the last `cooldown_seconds`. One statement, so two replicas never both win.
pub async fn claim_notification(
    pool: &PgPool,
    plugin: &str,
    service: &str,
    kind: &str,
    cooldown_seconds: u32,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "insert into notification_cooldowns (plugin_id, service, kind, last_at)
         values ($1, $2, $3, now())
         on conflict (plugin_id, service, kind) do update set last_at = now()
         where notification_cooldowns.last_at <= now() - make_interval(secs => $4)
         returning 1",
    )
    .bind(plugin)
    .bind(service)
    .bind(kind)
    .bind(f64::from(cooldown_seconds))
    .fetch_optional(pool)
    .await?
    .is_some())
}

/// Delete a plugin and its versions. Returns whether it existed.
pub async fn delete(conn: &mut PgConnection, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("delete from plugins where id = $1")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Who uses a plugin: service names, plus `*` for the global notifier list.
pub async fn users(conn: &mut PgConnection, id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select s.name from service_plugins b join services s on s.id = b.service_id where b.plugin_id = $1
         union select '*' from global_notifiers where plugin_id = $1 order by 1",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// A service's id by name.
pub async fn service_id(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar("select id from services where name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// A service's bindings as (role, plugin id), in order. A stored role this build does not know
/// is a decode error, never taken for a notifier.
pub async fn bindings(
    conn: &mut PgConnection,
    service_id: uuid::Uuid,
) -> Result<Vec<(BindingRole, String)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select role, plugin_id from service_plugins where service_id = $1 order by role, position",
    )
    .bind(service_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(role, plugin)| Ok((text_column("role", &role)?, plugin)))
        .collect()
}

/// Replace a service's bindings with (role, plugin id) in order.
pub async fn set_bindings(
    conn: &mut PgConnection,
    service_id: uuid::Uuid,
    bindings: &[(BindingRole, &str)],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from service_plugins where service_id = $1")
        .bind(service_id)
        .execute(&mut *conn)
        .await?;
    for (position, (role, plugin)) in bindings.iter().enumerate() {
        sqlx::query("insert into service_plugins (service_id, role, plugin_id, position) values ($1, $2, $3, $4)")
            .bind(service_id)
            .bind(role.as_str())
            .bind(plugin)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The global notifiers in order.
pub async fn global_notifiers(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select plugin_id from global_notifiers order by position")
        .fetch_all(conn)
        .await
}

/// Replace the global notifiers.
pub async fn set_global_notifiers(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from global_notifiers")
        .execute(&mut *conn)
        .await?;
    for (position, id) in ids.iter().enumerate() {
        sqlx::query("insert into global_notifiers (plugin_id, position) values ($1, $2)")
            .bind(id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_roles_decode_and_an_unknown_role_is_an_error() {
        for r in BindingRole::ALL {
            assert_eq!(
                text_column::<BindingRole>("role", r.as_str()).ok(),
                Some(*r)
            );
        }
        // Once taken for a notifier; now the row does not decode.
        assert!(matches!(
            text_column::<BindingRole>("role", "webhook"),
            Err(sqlx::Error::ColumnDecode { index, .. }) if index == "role"
        ));
    }
}
