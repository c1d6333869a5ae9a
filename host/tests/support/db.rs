//! PostgreSQL of the test environment (`DATABASE_URL` names its maintenance database): a fresh,
//! migrated database per test, scratch databases for `sdmd` processes, and the audit log as rows.

use sqlx::PgPool;

fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at the test PostgreSQL (make test sets it; see scripts/test-env.sh)",
    )
}

/// `DATABASE_URL` with its database replaced by `name`.
pub fn url_for(name: &str) -> String {
    let base = admin_url();
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("DATABASE_URL has no database part: {base}"),
    }
}

/// The URL of `pool`'s database (for an `sdmd` process on the test's database).
pub async fn url_of(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(pool)
        .await
        .unwrap();
    url_for(&db)
}

/// Runs `test` on a multi-threaded runtime (as in production) with a fresh, migrated database
/// that is dropped afterwards.
pub fn with_db<F, Fut>(test: F)
where
    F: FnOnce(PgPool) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let url = admin_url();
        let admin = sqlx::PgPool::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test database at {url}: {e}"));
        let name = format!("sdmd_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let mut opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        opts = opts.database(&name);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect_with(opts)
            .await
            .unwrap();
        sdmd::db::migrate(&pool).await.unwrap();
        test(pool.clone()).await;
        pool.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database if exists {name} with (force)"
        )))
        .execute(&admin)
        .await
        .unwrap();
    });
}

/// Runs `sql` on the maintenance database, on a thread of its own (callable from sync code and
/// from inside a runtime alike).
fn admin_sql(sql: String) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let url = admin_url();
            let pool = sqlx::PgPool::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the test database at {url}: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
        });
    })
    .join()
    .unwrap();
}

/// An empty database (not migrated: the `sdmd` process that gets it migrates) on the test
/// server, dropped with this value — after the processes using it stopped.
pub struct ScratchDb {
    name: String,
    /// URL of the fresh database.
    pub url: String,
}

impl ScratchDb {
    /// Creates `<prefix>_<uuid>`.
    pub fn create(prefix: &str) -> Self {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        admin_sql(format!("create database {name}"));
        Self {
            url: url_for(&name),
            name,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        admin_sql(format!(
            "drop database if exists {} with (force)",
            self.name
        ));
    }
}

/// The audit rows of one action, oldest first: (actor, target, result).
pub async fn audit_rows(pool: &PgPool, action: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as("select actor, target, result from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Every audit row's action, oldest first.
pub async fn audit_actions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Every audit row's id, oldest first.
pub async fn audit_ids(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select id from audit_log order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A transaction in which triggers do not fire (`session_replication_role = replica`, superuser
/// only): the append-only trigger of the audit log is out of the way until it commits.
pub async fn bypassing_triggers(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Runs `sql` as superuser with the append-only trigger out of the way (an attacker with
/// superuser rights, or a restore gone wrong).
pub async fn as_superuser_bypassing_trigger(pool: &PgPool, sql: &str) {
    let mut tx = bypassing_triggers(pool).await;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}
