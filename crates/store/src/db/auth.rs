//! Users, sessions, refresh tokens, the signing key, API tokens and login throttling.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A stored user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Stable id (the JWT `sub`).
    pub id: Uuid,
    /// Login name.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last successful sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str = "id, email, password_hash, created_at, updated_at, last_sign_in_at";

/// Finds a user by email (case-insensitive).
pub async fn user_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Finds a user by id (on a pool, or on the connection a request already holds).
pub async fn user_by_id<'e, E: sqlx::PgExecutor<'e>>(
    db: E,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// All users by email.
pub async fn list_users(pool: &PgPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users order by lower(email)"
    )))
    .fetch_all(pool)
    .await
}

/// How many users exist.
/// Within `tx`, waits for the first-administrator lock (replicas creating the first user at
/// the same moment serialise on it) and answers how many users exist.
pub async fn lock_first_admin(tx: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('sdmd.first_admin'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut *tx)
        .await
}

pub async fn count_users(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
}

/// Inserts a user; fails on `users_email_key` when the email is taken.
pub async fn insert_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
) -> Result<User, sqlx::Error> {
    sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "insert into users (email, password_hash) values ($1, $2) returning {USER_COLUMNS}"
    )))
    .bind(email)
    .bind(password_hash)
    .fetch_one(conn)
    .await
}

/// Replaces a user's password and revokes all their sessions. Returns false when no such user.
pub async fn set_password(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "update users set password_hash = $2, updated_at = now() where lower(email) = lower($1) returning id",
    )
    .bind(email)
    .bind(password_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else { return Ok(false) };
    sqlx::query(
        "update auth_sessions set revoked_at = now() where user_id = $1 and revoked_at is null",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Deletes a user (sessions and refresh tokens cascade). Returns false when no such user.
pub async fn delete_user(conn: &mut PgConnection, email: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from users where lower(email) = lower($1)")
        .bind(email)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// How long built-in sessions last (`SDMD_SESSION_LIFETIME_SECS`, `SDMD_SESSION_IDLE_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Absolute lifetime from sign-in.
    pub lifetime_secs: i64,
    /// Longest time without a refresh (or the sign-in).
    pub idle_secs: i64,
}

/// Forgets sessions revoked or expired more than 30 days ago and refresh tokens spent more than
/// 30 days ago (reuse of such an old token then answers "not found" instead of revoking: still
/// refused).
pub async fn prune_sessions(
    conn: &mut PgConnection,
    limits: &SessionLimits,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from auth_sessions
         where revoked_at < now() - interval '30 days'
            or created_at < now() - make_interval(secs => $1) - interval '30 days'
            or coalesce(refreshed_at, created_at) < now() - make_interval(secs => $2) - interval '30 days'",
    )
    .bind(limits.lifetime_secs as f64)
    .bind(limits.idle_secs as f64)
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from refresh_tokens where used_at < now() - interval '30 days'")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Marks a successful sign-in; returns the user as stored now.
pub async fn touch_sign_in(conn: &mut PgConnection, user: Uuid) -> Result<User, sqlx::Error> {
    sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "update users set last_sign_in_at = now() where id = $1 returning {USER_COLUMNS}"
    )))
    .bind(user)
    .fetch_one(conn)
    .await
}

/// Starts a session and stores its first refresh token (by hash).
pub async fn insert_session(
    conn: &mut PgConnection,
    user: Uuid,
    refresh_hash: &str,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    let id: Uuid = sqlx::query_scalar(
        "insert into auth_sessions (user_id, user_agent, ip) values ($1, $2, $3) returning id",
    )
    .bind(user)
    .bind(user_agent)
    .bind(ip)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("insert into refresh_tokens (session_id, token_hash) values ($1, $2)")
        .bind(id)
        .bind(refresh_hash)
        .execute(conn)
        .await?;
    Ok(id)
}

/// A refresh token looked up for use, locked until the transaction ends.
#[derive(Debug, sqlx::FromRow)]
pub struct RefreshToken {
    /// Row id.
    pub id: i64,
    /// Its session.
    pub session_id: Uuid,
    /// The session's user.
    pub user_id: Uuid,
    /// Set once the token was exchanged.
    pub used_at: Option<DateTime<Utc>>,
    /// Set when the session was revoked.
    pub session_revoked_at: Option<DateTime<Utc>>,
    /// The session is older than its absolute lifetime.
    pub lifetime_over: bool,
    /// The session was not refreshed (nor signed in) within the idle timeout.
    pub idle_over: bool,
}

/// Finds a refresh token by hash and locks it (`for update`), so two concurrent exchanges of the
/// same token cannot both succeed.
pub async fn refresh_token_for_update(
    conn: &mut PgConnection,
    hash: &str,
    limits: &SessionLimits,
) -> Result<Option<RefreshToken>, sqlx::Error> {
    sqlx::query_as::<_, RefreshToken>(
        "select r.id, r.session_id, s.user_id, r.used_at, s.revoked_at as session_revoked_at,
                s.created_at <= now() - make_interval(secs => $2) as lifetime_over,
                coalesce(s.refreshed_at, s.created_at) <= now() - make_interval(secs => $3) as idle_over
         from refresh_tokens r join auth_sessions s on s.id = r.session_id
         where r.token_hash = $1
         for update of r",
    )
    .bind(hash)
    .bind(limits.lifetime_secs as f64)
    .bind(limits.idle_secs as f64)
    .fetch_optional(conn)
    .await
}

/// Marks a refresh token used and stores its successor.
pub async fn rotate_refresh_token(
    conn: &mut PgConnection,
    old: i64,
    session: Uuid,
    new_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update refresh_tokens set used_at = now() where id = $1")
        .bind(old)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update auth_sessions set refreshed_at = now() where id = $1")
        .bind(session)
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into refresh_tokens (session_id, token_hash) values ($1, $2)")
        .bind(session)
        .bind(new_hash)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Revokes a session (idempotent).
pub async fn revoke_session(conn: &mut PgConnection, session: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update auth_sessions set revoked_at = coalesce(revoked_at, now()) where id = $1")
        .bind(session)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Revokes every session of a user.
pub async fn revoke_user_sessions(conn: &mut PgConnection, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update auth_sessions set revoked_at = now() where user_id = $1 and revoked_at is null",
    )
    .bind(user)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Un-revokes one session (logout with scope `others` keeps the caller's session).
pub async fn reinstate_session(conn: &mut PgConnection, session: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update auth_sessions set revoked_at = null where id = $1")
        .bind(session)
        .execute(conn)
        .await
        .map(|_| ())
}

/// How long a session stays active from now, in seconds (the earlier of its absolute lifetime
/// and its idle timeout), or `None` when it does not exist, is revoked or has expired.
pub async fn session_active_for(
    pool: &PgPool,
    session: Uuid,
    limits: &SessionLimits,
) -> Result<Option<f64>, sqlx::Error> {
    // A hundred years is "for ever" and keeps the timestamp arithmetic in range.
    const FOREVER: i64 = 100 * 366 * 86_400;
    sqlx::query_scalar(
        "select extract(epoch from least(created_at + make_interval(secs => $2),
                                         coalesce(refreshed_at, created_at) + make_interval(secs => $3)) - now())::float8
         from auth_sessions
         where id = $1 and revoked_at is null
           and created_at > now() - make_interval(secs => $2)
           and coalesce(refreshed_at, created_at) > now() - make_interval(secs => $3)",
    )
    .bind(session)
    .bind(limits.lifetime_secs.min(FOREVER) as f64)
    .bind(limits.idle_secs.min(FOREVER) as f64)
    .fetch_optional(pool)
    .await
}

/// The stored signing key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKey {
    /// Key id (JWT header `kid`).
    pub kid: String,
    /// `ES256`.
    pub algorithm: String,
    /// PKCS#8 PEM private key.
    pub private_pem: String,
    /// base64url public X coordinate.
    pub public_x: String,
    /// base64url public Y coordinate.
    pub public_y: String,
}

/// The oldest signing key, if any.
pub async fn signing_key(pool: &PgPool) -> Result<Option<SigningKey>, sqlx::Error> {
    sqlx::query_as::<_, SigningKey>(
        "select kid, algorithm, private_pem, public_x, public_y from signing_keys order by created_at, kid limit 1",
    )
    .fetch_optional(pool)
    .await
}

/// Stores a key unless one exists already (two replicas starting at once: the first one wins,
/// both then read the same key).
pub async fn insert_signing_key_if_none(pool: &PgPool, k: &SigningKey) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('sdmd.signing_keys'))")
        .execute(&mut *tx)
        .await?;
    let exists: Option<String> = sqlx::query_scalar("select kid from signing_keys limit 1")
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        sqlx::query("insert into signing_keys (kid, algorithm, private_pem, public_x, public_y) values ($1, $2, $3, $4, $5)")
            .bind(&k.kid)
            .bind(&k.algorithm)
            .bind(&k.private_pem)
            .bind(&k.public_x)
            .bind(&k.public_y)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    /// Token id.
    pub id: Uuid,
    /// Unique name among active tokens (the audit log's actor is `token:<name>:<id>`).
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str = "id, name, prefix, created_by, created_at, expires_at, last_used_at";

/// Stores a new token; fails on `api_tokens_name_key` when an active token has that name.
pub async fn insert_api_token(
    conn: &mut PgConnection,
    name: &str,
    prefix: &str,
    secret_hash: &str,
    created_by: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<ApiToken, sqlx::Error> {
    sqlx::query_as::<_, ApiToken>(sqlx::AssertSqlSafe(format!(
        "insert into api_tokens (name, prefix, secret_hash, created_by, expires_at) values ($1, $2, $3, $4, $5)
         returning {TOKEN_COLUMNS}"
    )))
    .bind(name)
    .bind(prefix)
    .bind(secret_hash)
    .bind(created_by)
    .bind(expires_at)
    .fetch_one(conn)
    .await
}

/// Active (not revoked) tokens by name.
pub async fn list_api_tokens(pool: &PgPool) -> Result<Vec<ApiToken>, sqlx::Error> {
    sqlx::query_as::<_, ApiToken>(sqlx::AssertSqlSafe(format!(
        "select {TOKEN_COLUMNS} from api_tokens where revoked_at is null order by name"
    )))
    .fetch_all(pool)
    .await
}

/// Revokes a token; returns its name, or None when no active token has that id.
pub async fn revoke_api_token(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("update api_tokens set revoked_at = now() where id = $1 and revoked_at is null returning name")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// An active, unexpired API token found by its secret hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsedToken {
    /// Token id.
    pub id: Uuid,
    /// Token name.
    pub name: String,
    /// Seconds until it expires, when it has an expiry.
    pub expires_in_secs: Option<f64>,
}

/// The active, unexpired token with this secret hash. `last_used_at` is refreshed at most once a
/// minute, so automation hammering the API does not turn every read into a write.
pub async fn use_api_token(
    pool: &PgPool,
    secret_hash: &str,
) -> Result<Option<UsedToken>, sqlx::Error> {
    sqlx::query_as(
        "with t as (
             select id, name, extract(epoch from expires_at - now())::float8 as expires_in_secs
             from api_tokens
             where secret_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())
         ), touched as (
             update api_tokens set last_used_at = now()
             where id in (select id from t) and (last_used_at is null or last_used_at < now() - interval '1 minute')
         )
         select id, name, expires_in_secs from t",
    )
    .bind(secret_hash)
    .fetch_optional(pool)
    .await
}

/// The throttling state of one key (`account:<email>` or `ip:<address>`), locked until the
/// transaction ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Throttle {
    /// Failed (or still running) sign-ins counted.
    pub failures: i32,
    /// Start of the counting window (addresses).
    pub window_start: DateTime<Utc>,
    /// The latest counted attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// No attempt is checked before this (accounts).
    pub next_at: DateTime<Utc>,
    /// The database's clock when the lock was taken.
    pub now: DateTime<Utc>,
}

/// Locks the throttle row of `key` (`for update` semantics through the upsert), creating it
/// when missing, so that concurrent sign-ins for one key are decided one after the other. `now`
/// is read once the lock is held (`clock_timestamp()`, not the transaction's start): a
/// transaction that began before the one it waited for would otherwise see that one's
/// `next_at` in its future and be throttled for the difference.
pub async fn lock_throttle(conn: &mut PgConnection, key: &str) -> Result<Throttle, sqlx::Error> {
    sqlx::query_as::<_, Throttle>(
        "insert into login_throttle (key) values ($1)
         on conflict (key) do update set key = excluded.key
         returning failures, window_start, last_failure_at, next_at, clock_timestamp() as now",
    )
    .bind(key)
    .fetch_one(conn)
    .await
}

/// Counts an attempt for a locked key: `failures`, the window start, and the time before which
/// the next attempt is not checked.
pub async fn count_attempt(
    conn: &mut PgConnection,
    key: &str,
    failures: i32,
    window_start: DateTime<Utc>,
    next_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update login_throttle set failures = $2, window_start = $3, next_at = $4, last_failure_at = now()
         where key = $1",
    )
    .bind(key)
    .bind(failures)
    .bind(window_start)
    .bind(next_at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Forgets a key (an account after its owner signed in).
pub async fn clear_throttle(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from login_throttle where key = $1")
        .bind(key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Takes back one counted attempt (the successful sign-in's, for its address).
pub async fn uncount_attempt(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update login_throttle set failures = greatest(failures - 1, 0) where key = $1")
        .bind(key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes throttle rows with no counted attempt for `idle_secs` and no delay pending.
pub async fn prune_throttle(pool: &PgPool, idle_secs: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "delete from login_throttle
         where coalesce(last_failure_at, window_start) < now() - make_interval(secs => $1)
           and next_at < now()",
    )
    .bind(idle_secs as f64)
    .execute(pool)
    .await
    .map(|d| d.rows_affected())
}

/// The name of the dedicated application role.
pub const APP_ROLE: &str = "sdmd_app";

/// Whether the connected role is a superuser.
pub async fn is_superuser(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select rolsuper from pg_roles where rolname = current_user")
        .fetch_one(pool)
        .await
}

/// Whether the connected role could change or remove audit rows (privileges, not the trigger).
pub async fn may_rewrite_audit(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select has_table_privilege(current_user, 'audit_log', 'UPDATE')
             or has_table_privilege(current_user, 'audit_log', 'DELETE')
             or has_table_privilege(current_user, 'audit_log', 'TRUNCATE')",
    )
    .fetch_one(pool)
    .await
}

/// Creates (or updates) the non-superuser application role with `password` (hex only) and grants
/// it what the server needs: everything on the tables except UPDATE/DELETE/TRUNCATE on
/// `audit_log`, which it may only read and append to (through `audit_reserve()` and the append
/// trigger), and any write on the chain head `audit_chain_head`.
pub async fn ensure_app_role(pool: &PgPool, password_hex: &str) -> Result<(), sqlx::Error> {
    debug_assert!(password_hex.chars().all(|c| c.is_ascii_hexdigit()));
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('sdmd.app_role'))")
        .execute(&mut *tx)
        .await?;
    let exists: Option<String> =
        sqlx::query_scalar("select rolname::text from pg_roles where rolname = $1")
            .bind(APP_ROLE)
            .fetch_optional(&mut *tx)
            .await?;
    let verb = if exists.is_some() { "alter" } else { "create" };
    // The password is hex we derived: safe to inline (utility statements take no parameters).
    let pw: String = password_hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{verb} role {APP_ROLE} with login nosuperuser nocreatedb nocreaterole noinherit password '{pw}'"
    )))
    .execute(&mut *tx)
    .await?;
    for stmt in [
        "grant usage on schema public to sdmd_app",
        "grant select, insert, update, delete on all tables in schema public to sdmd_app",
        "grant usage, select, update on all sequences in schema public to sdmd_app",
        "revoke update, delete, truncate on audit_log from sdmd_app",
        // The chain head moves only through the append trigger (SECURITY DEFINER), and ids come
        // from `audit_reserve()`: the role may read the head, not write it or move the sequence.
        "revoke insert, update, delete, truncate on audit_chain_head from sdmd_app",
        "revoke usage, update on sequence audit_log_id_seq from sdmd_app",
        "grant execute on function audit_reserve() to sdmd_app",
        "revoke all on _sqlx_migrations from sdmd_app",
        "grant select on _sqlx_migrations to sdmd_app",
    ] {
        sqlx::query(stmt).execute(&mut *tx).await?;
    }
    let db: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(&mut *tx)
        .await?;
    let db_ident = db.replace('"', "\"\"");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "grant connect on database \"{db_ident}\" to {APP_ROLE}"
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
