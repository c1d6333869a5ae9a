//! Stored service definitions and their revisions.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::spec::Definition;
pub use sdmd_model::service::{StoredFile, StoredService};

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    revision: i32,
    definition: sqlx::types::Json<Definition>,
    adopted_from: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    project_dir: Option<String>,
    foreign_volumes: Vec<String>,
}

impl From<Row> for StoredService {
    fn from(r: Row) -> Self {
        Self {
            name: r.name,
            revision: r.revision,
            definition: r.definition.0,
            adopted_from: r.adopted_from,
            created_at: r.created_at,
            updated_at: r.updated_at,
            files: Vec::new(),
            source: None,
            project_dir: r.project_dir,
            foreign_volumes: r.foreign_volumes,
        }
    }
}

const SELECT: &str =
    "select s.name, s.revision, r.definition, s.adopted_from, s.created_at, s.updated_at, s.project_dir, s.foreign_volumes
    from services s join service_revisions r on r.service_id = s.id and r.revision = s.revision";

/// All stored services, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<StoredService>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} order by s.name")))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// One stored service.
pub async fn get(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<StoredService>, sqlx::Error> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where s.name = $1")))
            .bind(name)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Into::into))
}

/// What a revision stores beside its definition: the document as written and its files.
#[derive(Debug, Clone, Copy)]
pub struct RevisionSource<'a> {
    /// The document as written (`None`: the definition is its own source).
    pub source: Option<&'a serde_json::Value>,
    /// The project files.
    pub files: &'a [StoredFile],
}

impl RevisionSource<'_> {
    /// A revision without a separate source or files (adopt, older clients).
    pub const NONE: RevisionSource<'static> = RevisionSource {
        source: None,
        files: &[],
    };
}

async fn insert_source(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    revision: i32,
    src: RevisionSource<'_>,
) -> Result<(), sqlx::Error> {
    if let Some(source) = src.source {
        sqlx::query(
            "update service_revisions set source = $3 where service_id = $1 and revision = $2",
        )
        .bind(id)
        .bind(revision)
        .bind(sqlx::types::Json(source))
        .execute(&mut *conn)
        .await?;
    }
    for f in src.files {
        sqlx::query("insert into service_files (service_id, revision, path, sealed, content) values ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(revision)
            .bind(&f.path)
            .bind(f.sealed)
            .bind(&f.content)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The current revision's source document (when stored apart) and files.
pub async fn project(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<(Option<serde_json::Value>, Vec<StoredFile>)>, sqlx::Error> {
    let row: Option<(
        uuid::Uuid,
        i32,
        Option<sqlx::types::Json<serde_json::Value>>,
    )> = sqlx::query_as(
        "select s.id, s.revision, r.source from services s
            join service_revisions r on r.service_id = s.id and r.revision = s.revision
            where s.name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, revision, source)) = row else {
        return Ok(None);
    };
    let rows: Vec<(String, bool, Vec<u8>)> = sqlx::query_as(
        "select path, sealed, content from service_files
        where service_id = $1 and revision = $2 order by path",
    )
    .bind(id)
    .bind(revision)
    .fetch_all(conn)
    .await?;
    let files = rows
        .into_iter()
        .map(|(path, sealed, content)| StoredFile {
            path,
            sealed,
            content,
        })
        .collect();
    Ok(Some((source.map(|s| s.0), files)))
}

/// Inserts a new service at revision 1. Fails with the `services_name_key` constraint when taken.
pub async fn insert(
    conn: &mut PgConnection,
    def: &Definition,
    actor: &str,
    adopted_from: &[String],
    src: RevisionSource<'_>,
) -> Result<(), sqlx::Error> {
    let (id,): (uuid::Uuid,) = sqlx::query_as(
        "insert into services (name, revision, adopted_from) values ($1, 1, $2) returning id",
    )
    .bind(&def.name)
    .bind(adopted_from)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("insert into service_revisions (service_id, revision, definition, created_by) values ($1, 1, $2, $3)")
        .bind(id)
        .bind(sqlx::types::Json(def))
        .bind(actor)
        .execute(&mut *conn)
        .await?;
    insert_source(conn, id, 1, src).await
}

/// Stores a new revision; returns its number, or `None` when the service does not exist.
pub async fn new_revision(
    conn: &mut PgConnection,
    def: &Definition,
    actor: &str,
    src: RevisionSource<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    let row: Option<(uuid::Uuid, i32)> = sqlx::query_as(
        "update services set revision = revision + 1, updated_at = now() where name = $1 returning id, revision",
    )
    .bind(&def.name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, revision)) = row else {
        return Ok(None);
    };
    sqlx::query("insert into service_revisions (service_id, revision, definition, created_by) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(revision)
        .bind(sqlx::types::Json(def))
        .bind(actor)
        .execute(&mut *conn)
        .await?;
    insert_source(conn, id, revision, src).await?;
    Ok(Some(revision))
}

/// Records a project directory other than `<stacks>/<service>` (adopted compose projects).
pub async fn set_project_dir(
    conn: &mut PgConnection,
    name: &str,
    dir: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update services set project_dir = $2 where name = $1")
        .bind(name)
        .bind(dir)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records the volumes of adopted containers, which SDMD must never remove.
pub async fn set_foreign_volumes(
    conn: &mut PgConnection,
    name: &str,
    volumes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("update services set foreign_volumes = $2 where name = $1")
        .bind(name)
        .bind(volumes)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Forgets the containers a service was adopted from (they have been replaced).
pub async fn clear_adopted(pool: &PgPool, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update services set adopted_from = '{}' where name = $1")
        .bind(name)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Deletes a service and its revisions; returns whether it existed.
pub async fn delete(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("delete from services where name = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// One revision of a service, with who stored it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Revision {
    /// Revision number.
    pub revision: i32,
    /// Who stored it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The definition.
    pub definition: sqlx::types::Json<Definition>,
}

/// All revisions of a service, newest first.
pub async fn revisions(pool: &PgPool, name: &str) -> Result<Vec<Revision>, sqlx::Error> {
    sqlx::query_as(
        "select r.revision, r.created_by, r.created_at, r.definition
         from service_revisions r join services s on s.id = r.service_id
         where s.name = $1 order by r.revision desc",
    )
    .bind(name)
    .fetch_all(pool)
    .await
}
