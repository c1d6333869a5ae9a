//! The built-in GoTrue subset: password and refresh-token grants, logout, users.
//!
//! Login throttling is kept **in the database** (`login_throttle`), so every replica sees the
//! same counts, and never locks an owner out:
//!
//! - per account, growing delays: [`FREE_FAILURES_PER_ACCOUNT`] failures are free, then each
//!   failure makes the next attempt wait [`FIRST_DELAY_MS`] × 2^(failures − 5), at most
//!   [`MAX_DELAY_SECS`]. Attempts inside the delay answer `429` with the wait (`Retry-After`)
//!   without checking the password; after it, the right password signs in. A run of failures is
//!   forgotten [`ACCOUNT_RESET_SECS`] after the last one, and at once by a successful sign-in.
//! - per client address, a hard block: [`MAX_FAILURES_PER_IP`] failures within
//!   [`IP_WINDOW_SECS`] block that address until the window ends.
//!
//! Every attempt is counted *before* its password is checked, under the row locks of its keys
//! (one short transaction), so concurrent attempts cannot slip past the limits. argon2 runs
//! outside any transaction, with no pooled connection held, behind a semaphore sized to the CPU
//! cores ([`super::Auth::verify_password`]).

use std::time::Duration;

use crate::change::{Change, Record};
use crate::db::{Connection, PgConnection, PgPool};
use chrono::{DateTime, Utc};
use sdmd_model::audit::Action;
use serde_json::json;
use uuid::Uuid;

use super::{Auth, AuthError, Claims, password, random_token, secret_hash};
use crate::db::audit::{self, AuditContext};
use crate::db::auth::{self as db, User};

/// Failed sign-ins per account that cost no delay.
pub const FREE_FAILURES_PER_ACCOUNT: i32 = 5;
/// The delay after the first failure beyond the free ones; it doubles with each further failure.
pub const FIRST_DELAY_MS: u64 = 250;
/// The longest delay between two checked attempts on one account.
pub const MAX_DELAY_SECS: u64 = 15 * 60;
/// A run of account failures is forgotten this long after the last one.
pub const ACCOUNT_RESET_SECS: i64 = 60 * 60;
/// Failed sign-ins per client address within [`IP_WINDOW_SECS`] before that address is blocked.
pub const MAX_FAILURES_PER_IP: i32 = 20;
/// The window of the per-address block.
pub const IP_WINDOW_SECS: i64 = 15 * 60;

/// The wait before the next checked attempt of an account with `failures` counted failures.
pub fn account_delay(failures: i32) -> Duration {
    let beyond = failures - FREE_FAILURES_PER_ACCOUNT;
    if beyond < 0 {
        return Duration::ZERO;
    }
    let max = Duration::from_secs(MAX_DELAY_SECS);
    // 2^22 × 250 ms is beyond the cap already: no overflow for any count.
    let factor = 1u64 << beyond.clamp(0, 22);
    Duration::from_millis(FIRST_DELAY_MS.saturating_mul(factor)).min(max)
}

/// Whether a sign-in attempt may check its password.
enum Attempt {
    /// Counted: check it.
    Counted,
    /// Refused without checking: `key` is throttled for `wait`.
    Throttled { key: String, wait: Duration },
}

fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or_default()
}

/// Counts an attempt for the address and the account, or names the key that refuses it.
/// Locks the address row first, then the account row: every request takes them in this order.
async fn count_attempt(
    conn: &mut PgConnection,
    ip_key: &str,
    account_key: &str,
) -> Result<Attempt, crate::db::DbError> {
    let ip = db::lock_throttle(conn, ip_key).await?;
    let ip_window_over = ip.window_start <= ip.now - chrono::Duration::seconds(IP_WINDOW_SECS);
    let (ip_failures, ip_window) = if ip_window_over {
        (0, ip.now)
    } else {
        (ip.failures, ip.window_start)
    };
    if ip_failures >= MAX_FAILURES_PER_IP {
        return Ok(Attempt::Throttled {
            key: ip_key.to_owned(),
            wait: until(
                ip.now,
                ip_window + chrono::Duration::seconds(IP_WINDOW_SECS),
            ),
        });
    }
    let acct = db::lock_throttle(conn, account_key).await?;
    if acct.next_at > acct.now {
        return Ok(Attempt::Throttled {
            key: account_key.to_owned(),
            wait: until(acct.now, acct.next_at),
        });
    }
    let run_over = acct
        .last_failure_at
        .is_none_or(|t| t <= acct.now - chrono::Duration::seconds(ACCOUNT_RESET_SECS));
    let failures = if run_over { 1 } else { acct.failures + 1 };
    let delay = chrono::Duration::from_std(account_delay(failures)).unwrap_or_default();
    db::count_attempt(conn, account_key, failures, acct.now, acct.now + delay).await?;
    db::count_attempt(conn, ip_key, ip_failures + 1, ip_window, ip.now).await?;
    Ok(Attempt::Counted)
}

/// Records a throttled attempt of `action` (one aggregated row per key and window), commits, and
/// answers the error that tells the client when to retry.
async fn refuse_throttled(
    mut tx: Change<'_>,
    ctx: &AuditContext,
    action: Action,
    email: &str,
    key: &str,
    wait: Duration,
) -> Result<AuthError, AuthError> {
    let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    let entry = Record {
        action,
        target: None,
        result: "over_request_rate_limit",
        details: json!({"email": email, "throttled_by": key, "retry_after_ms": retry_after_ms}),
    };
    tx.record_repeated(&format!("{action}:{key}"), ctx, entry)
        .await?;
    tx.commit_unpublished().await?;
    Ok(AuthError::RateLimited { retry_after_ms })
}

/// Records how an attempt ended (refused or let in) and commits it with what it changed; the
/// auth entries are not published on the event bus.
async fn record_outcome(
    mut tx: Change<'_>,
    ctx: &AuditContext,
    entry: Record<'_>,
) -> Result<(), AuthError> {
    tx.record(ctx, entry).await?;
    tx.commit_unpublished().await?;
    Ok(())
}

/// Forgets the attempt counted for the address and clears the throttle of the key it was
/// counted against (an account or the setup), after a success. Same lock order as
/// `count_attempt` (address, then the other key): no deadlock between them.
async fn clear_attempts(conn: &mut PgConnection, ip_key: &str, key: &str) -> Result<(), AuthError> {
    db::uncount_attempt(conn, ip_key).await?;
    db::clear_throttle(conn, key).await?;
    Ok(())
}

/// A user as GoTrue shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// `authenticated`.
    pub aud: String,
    /// `authenticated`.
    pub role: String,
    /// Email.
    pub email: String,
    /// Email confirmation time (users created by an administrator are confirmed).
    pub email_confirmed_at: DateTime<Utc>,
    /// Always empty.
    pub phone: String,
    /// Confirmation time.
    pub confirmed_at: DateTime<Utc>,
    /// Last sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// `{"provider": "email", "providers": ["email"]}`.
    pub app_metadata: serde_json::Value,
    /// Empty object.
    pub user_metadata: serde_json::Value,
    /// Empty list.
    pub identities: Vec<serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Always false.
    pub is_anonymous: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            aud: "authenticated".into(),
            role: "authenticated".into(),
            email: u.email.clone(),
            email_confirmed_at: u.created_at,
            phone: String::new(),
            confirmed_at: u.created_at,
            last_sign_in_at: u.last_sign_in_at,
            app_metadata: json!({"provider": "email", "providers": ["email"]}),
            user_metadata: json!({}),
            identities: Vec::new(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            is_anonymous: false,
        }
    }
}

/// The token response of `/auth/v1/token` (GoTrue's `AccessTokenResponse`).
#[derive(Debug, Clone)]
pub struct Session {
    /// ES256 JWT.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Expiry (unix seconds).
    pub expires_at: i64,
    /// Single-use refresh token.
    pub refresh_token: String,
    /// The user.
    pub user: UserView,
}

/// Request metadata kept with a session and the audit row.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Client address.
    pub ip: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// Request id (made by the server).
    pub request_id: Option<String>,
    /// The `x-request-id` the client sent, if any.
    pub client_request_id: Option<String>,
}

impl Client {
    fn audit(&self, actor: &str) -> AuditContext {
        AuditContext {
            actor: actor.to_owned(),
            request_id: self.request_id.clone(),
            client_ip: self.ip.clone(),
            client_request_id: self.client_request_id.clone(),
        }
    }
}

/// The actor of audit rows written before anyone is authenticated (failed and throttled
/// sign-ins, refresh-token reuse): the attempted email goes into the details.
pub const ANONYMOUS: &str = "anonymous";

/// Longest email accepted by the password grant, in bytes (RFC 5321's 64 + 1 + 255 rounded as
/// GoTrue does); longer ones answer 400 before anything is stored.
pub const MAX_EMAIL_BYTES: usize = 320;
/// Longest password accepted, in bytes; longer ones answer 400 before anything is hashed or stored.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Refuses credentials no account can have, before they reach the database or argon2.
fn check_sizes(email: &str, pw: &str) -> Result<(), AuthError> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(AuthError::BadRequest(format!(
            "The email must be at most {MAX_EMAIL_BYTES} bytes."
        )));
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::BadRequest(format!(
            "The password must be at most {MAX_PASSWORD_BYTES} bytes."
        )));
    }
    Ok(())
}

impl Auth {
    /// `grant_type=password`: throttled, constant-time, audited (success and failure). Uses at
    /// most one pooled connection at a time and none while argon2 runs.
    pub async fn password_grant(
        &self,
        pool: &PgPool,
        email: &str,
        pw: &str,
        client: &Client,
    ) -> Result<Session, AuthError> {
        self.require_builtin()?;
        let email = email.trim();
        check_sizes(email, pw)?;
        if email.is_empty() || pw.is_empty() {
            // 400 as GoTrue (and as the size checks above): the grant is not usable as sent.
            return Err(AuthError::BadRequest(
                "Email and password are required.".into(),
            ));
        }
        let ctx = client.audit(ANONYMOUS);
        let account_key = format!("account:{}", email.to_lowercase());
        let ip_key = format!("ip:{}", client.ip.as_deref().unwrap_or("unknown"));

        // 1. Count the attempt (or refuse it) and find the account: one short transaction.
        let user = {
            let mut conn = pool.acquire().await?;
            let mut tx = Change::on(conn.begin().await?);
            if let Attempt::Throttled { key, wait } =
                count_attempt(&mut tx, &ip_key, &account_key).await?
            {
                return Err(
                    refuse_throttled(tx, &ctx, Action::AuthLogin, email, &key, wait).await?,
                );
            }
            let user = db::user_by_email(&mut tx, email).await?;
            tx.commit_unpublished().await?;
            user
            // The connection goes back to the pool here, before argon2.
        };

        // 2. argon2, with no connection or transaction held.
        let phc = match &user {
            Some(u) => u.password_hash.clone(),
            None => self.dummy_hash().await?.to_owned(),
        };
        let ok = self.verify_password(pw.to_owned(), phc).await? && user.is_some();

        // 3. The outcome: a second short transaction.
        let mut tx = Change::begin(pool).await?;
        let account = user.as_ref().map(|u| u.email.clone());
        let Some(user) = user.filter(|_| ok) else {
            let entry = Record {
                action: Action::AuthLogin,
                // The account, when there is one; the attempt as typed is a detail.
                target: account.as_deref(),
                result: "invalid_credentials",
                details: json!({"email": email}),
            };
            record_outcome(tx, &ctx, entry).await?;
            return Err(AuthError::InvalidCredentials);
        };
        clear_attempts(&mut tx, &ip_key, &account_key).await?;
        let (user, session, refresh) = self.open_session(&mut tx, user.id, client).await?;
        let ctx = client.audit(&user.email);
        let entry = Record {
            action: Action::AuthLogin,
            target: Some(&user.email),
            result: "ok",
            details: json!({"session_id": session}),
        };
        record_outcome(tx, &ctx, entry).await?;
        self.issue(pool, &user, session, refresh).await
    }

    /// A new session for `user` (sign-in, first-run setup): its id and refresh token.
    async fn open_session(
        &self,
        tx: &mut PgConnection,
        user: Uuid,
        client: &Client,
    ) -> Result<(User, Uuid, String), AuthError> {
        let refresh = random_token(32);
        let session = db::insert_session(
            tx,
            user,
            &secret_hash(&refresh),
            client.user_agent.as_deref(),
            client.ip.as_deref(),
        )
        .await?;
        let user = db::touch_sign_in(tx, user).await?;
        db::prune_sessions(tx, &self.config.session_limits()).await?;
        Ok((user, session, refresh))
    }

    /// Whether the first-run setup is pending: built-in mode and no user yet.
    pub async fn setup_required(&self, pool: &PgPool) -> Result<bool, AuthError> {
        Ok(self.config.mode == crate::auth::AuthMode::Builtin && db::count_users(pool).await? == 0)
    }

    /// Issues the setup code when setup is pending (at startup) and prints it; `None` when a
    /// user exists or in supabase mode. A restart issues a new one.
    pub async fn issue_setup_code(
        &self,
        pool: &PgPool,
        print_banner: bool,
    ) -> Result<Option<String>, AuthError> {
        if !self.setup_required(pool).await? {
            self.setup.clear();
            return Ok(None);
        }
        let code = self.setup.issue(super::setup::SETUP_CODE_TTL);
        let minutes = super::setup::SETUP_CODE_TTL.as_secs() / 60;
        tracing::info!(
            setup_code = %code,
            valid_minutes = minutes,
            "no administrator yet: open the dashboard and create the first administrator with this one-time setup code (or set SDMD_ADMIN_EMAIL and SDMD_ADMIN_PASSWORD and restart)"
        );
        if print_banner {
            let rule = "=".repeat(66);
            eprintln!(
                "\n  {rule}\n  SDMD first run: no administrator yet. Open the dashboard and enter\n  this one-time setup code (valid {minutes} minutes, for one use):\n\n      {code}\n\n  A restart prints a new code. Or set SDMD_ADMIN_EMAIL and\n  SDMD_ADMIN_PASSWORD and restart.\n  {rule}\n"
            );
        }
        Ok(Some(code))
    }

    /// `POST /api/v1/setup`: creates the first administrator with the setup code and signs
    /// them in. Refused once any user exists; wrong codes are throttled like sign-ins (per
    /// client address) and audited; the code is compared in constant time and spent on success.
    pub async fn setup_admin(
        &self,
        pool: &PgPool,
        code: &str,
        email: &str,
        pw: &str,
        client: &Client,
    ) -> Result<Session, AuthError> {
        self.require_builtin()?;
        let email = email.trim();
        check_sizes(email, pw)?;
        if code.len() > 64 {
            return Err(AuthError::BadRequest(
                "The setup code must be at most 64 bytes.".into(),
            ));
        }
        if !self.setup_required(pool).await? {
            self.setup.clear();
            return Err(AuthError::SetupComplete);
        }
        // What the user wrote must make a valid account before the code is spent.
        check_new_account(email, pw)?;
        if self.setup.active().is_none() {
            return Err(AuthError::SetupCodeExpired);
        }
        let ctx = client.audit(ANONYMOUS);
        let ip_key = format!("ip:{}", client.ip.as_deref().unwrap_or("unknown"));
        let setup_key = format!("setup:{ip_key}");
        // 1. Count the attempt (or refuse it): per address, growing delays then a hard block.
        let spent = {
            let mut tx = Change::begin(pool).await?;
            if let Attempt::Throttled { key, wait } =
                count_attempt(&mut tx, &ip_key, &setup_key).await?
            {
                return Err(
                    refuse_throttled(tx, &ctx, Action::AuthSetup, email, &key, wait).await?,
                );
            }
            let (check, spent) = self.setup.take(code);
            match check {
                super::setup::Check::Taken => {}
                super::setup::Check::NoCode => {
                    tx.commit_unpublished().await?;
                    return Err(AuthError::SetupCodeExpired);
                }
                super::setup::Check::Wrong => {
                    let entry = Record {
                        action: Action::AuthSetup,
                        target: None,
                        result: "invalid_setup_code",
                        details: json!({"email": email}),
                    };
                    record_outcome(tx, &ctx, entry).await?;
                    return Err(AuthError::InvalidSetupCode);
                }
            }
            clear_attempts(&mut tx, &ip_key, &setup_key).await?;
            tx.commit_unpublished().await?;
            spent
        };
        // 2. argon2 with no connection held, then the user and the session in one transaction.
        let result = self.create_first_admin(pool, email, pw, client).await;
        match (&result, spent) {
            (Ok(_), _) => self.setup.clear(),
            (Err(AuthError::SetupComplete), _) => self.setup.clear(),
            (Err(_), Some(spent)) => self.setup.restore(spent),
            (Err(_), None) => {}
        }
        result
    }

    async fn create_first_admin(
        &self,
        pool: &PgPool,
        email: &str,
        pw: &str,
        client: &Client,
    ) -> Result<Session, AuthError> {
        let phc = {
            let _slot = self
                .argon2
                .acquire()
                .await
                .map_err(|e| AuthError::Internal(format!("password hash slots: {e}")))?;
            password::hash(pw.to_owned()).await?
        };
        let mut tx = Change::begin(pool).await?;
        // Replicas (or the env-var bootstrap) creating the first user at the same moment:
        // one wins, the others see a user and answer `setup_complete`.
        let users = db::lock_first_admin(&mut tx).await?;
        if users > 0 {
            return Err(AuthError::SetupComplete);
        }
        let user = db::insert_user(&mut tx, email, &phc).await?;
        let (user, session, refresh) = self.open_session(&mut tx, user.id, client).await?;
        let entry = Record {
            action: Action::AuthSetup,
            target: Some(&user.email),
            result: "ok",
            details: json!({"user_id": user.id, "session_id": session, "via": "setup_code"}),
        };
        record_outcome(tx, &client.audit(&user.email), entry).await?;
        tracing::info!(email = %user.email, "created the first administrator with the setup code");
        self.issue(pool, &user, session, refresh).await
    }

    /// `grant_type=refresh_token`: single use; a second use revokes the whole session; refused
    /// once the session is past its absolute lifetime or idle timeout.
    pub async fn refresh_grant(
        &self,
        pool: &PgPool,
        refresh_token: &str,
        client: &Client,
    ) -> Result<Session, AuthError> {
        self.require_builtin()?;
        if refresh_token.is_empty() {
            // 400 as GoTrue (and as an unknown token): the grant is not usable as sent.
            return Err(AuthError::BadRequest("refresh_token is required.".into()));
        }
        // One connection for the whole exchange: the lookup of the user runs inside the
        // transaction that holds the token's lock (a second connection here could deadlock a
        // busy pool).
        let mut tx = Change::begin(pool).await?;
        let limits = self.config.session_limits();
        let Some(found) =
            db::refresh_token_for_update(&mut tx, &secret_hash(refresh_token), &limits).await?
        else {
            return Err(AuthError::RefreshTokenNotFound);
        };
        if found.session_revoked_at.is_some() {
            return Err(AuthError::RefreshTokenNotFound);
        }
        // An expired session stays expired: no refresh extends it.
        if found.lifetime_over || found.idle_over {
            return Err(AuthError::SessionExpired {
                inactivity: !found.lifetime_over,
            });
        }
        let user = db::user_by_id(&mut *tx, found.user_id)
            .await?
            .ok_or(AuthError::RefreshTokenNotFound)?;
        if found.used_at.is_some() {
            // Reuse means the token leaked (or a client bug): end the session for everyone holding it.
            db::revoke_session(&mut tx, found.session_id).await?;
            let entry = Record {
                action: Action::AuthRefreshReuse,
                target: Some(&user.email),
                result: "refresh_token_already_used",
                details: json!({"session_id": found.session_id}),
            };
            // Whoever presented the spent token is not authenticated by it.
            tx.record(&client.audit(ANONYMOUS), entry).await?;
            tx.commit_unpublished().await?;
            self.principals.evict_session(found.session_id);
            return Err(AuthError::RefreshTokenAlreadyUsed);
        }
        let next = random_token(32);
        db::rotate_refresh_token(&mut tx, found.id, found.session_id, &secret_hash(&next)).await?;
        tx.commit_unpublished().await?;
        self.issue(pool, &user, found.session_id, next).await
    }

    /// Ends sessions: `local` (this one), `others`, or `global` (all of the user's; supabase-js's default).
    pub async fn logout(
        &self,
        pool: &PgPool,
        user: Uuid,
        session: Uuid,
        scope: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        self.require_builtin()?;
        let mut tx = Change::begin(pool).await?;
        let u = db::user_by_id(&mut *tx, user)
            .await?
            .ok_or_else(|| AuthError::Unauthorized("no such user".into()))?;
        match scope {
            "local" => db::revoke_session(&mut tx, session).await?,
            "global" => db::revoke_user_sessions(&mut tx, user).await?,
            "others" => {
                db::revoke_user_sessions(&mut tx, user).await?;
                // Reinstate this one: cheaper than a dedicated "all but" statement.
                db::reinstate_session(&mut tx, session).await?;
            }
            other => {
                return Err(AuthError::Validation(format!(
                    "scope must be local, others or global, not {other}"
                )));
            }
        }
        let entry = Record {
            action: Action::AuthLogout,
            target: Some(&u.email),
            result: "ok",
            details: json!({"scope": scope, "session_id": session}),
        };
        tx.record(&client.audit(&u.email), entry).await?;
        tx.commit_unpublished().await?;
        self.principals.evict_user(user);
        Ok(())
    }

    /// The user behind a verified token.
    pub async fn user(&self, pool: &PgPool, user: Uuid) -> Result<UserView, AuthError> {
        self.require_builtin()?;
        let u = db::user_by_id(pool, user)
            .await?
            .ok_or_else(|| AuthError::NotFound("User not found.".into()))?;
        Ok(UserView::from(&u))
    }

    fn require_builtin(&self) -> Result<(), AuthError> {
        match self.config.mode {
            crate::auth::AuthMode::Builtin => Ok(()),
            crate::auth::AuthMode::Supabase => Err(AuthError::NotInThisMode(
                "SDMD runs in supabase auth mode: sign in through your Supabase project.".into(),
            )),
        }
    }

    async fn issue(
        &self,
        pool: &PgPool,
        user: &User,
        session: Uuid,
        refresh_token: String,
    ) -> Result<Session, AuthError> {
        let keys = self.signing_key(pool).await?;
        let now = Utc::now().timestamp();
        let ttl = i64::from(self.config.jwt_expiry);
        let claims = Claims {
            iss: Some(self.config.issuer()),
            sub: Some(user.id.to_string()),
            aud: Some(json!("authenticated")),
            exp: now + ttl,
            iat: now,
            email: Some(user.email.clone()),
            phone: String::new(),
            role: Some("authenticated".into()),
            aal: Some("aal1".into()),
            amr: Some(json!([{"method": "password", "timestamp": now}])),
            session_id: Some(session.to_string()),
            is_anonymous: false,
            app_metadata: Some(json!({"provider": "email", "providers": ["email"]})),
            user_metadata: Some(json!({})),
            extra: serde_json::Map::new(),
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(keys.kid.clone());
        let access_token = jsonwebtoken::encode(&header, &claims, &keys.encoding)
            .map_err(|e| AuthError::Internal(format!("signing the access token: {e}")))?;
        Ok(Session {
            access_token,
            token_type: "bearer".into(),
            expires_in: ttl,
            expires_at: now + ttl,
            refresh_token,
            user: UserView::from(user),
        })
    }
}

/// Refuses an email or password no new account may have (422).
fn check_new_account(email: &str, pw: &str) -> Result<(), AuthError> {
    if !email.contains('@') || email.len() > MAX_EMAIL_BYTES || email.contains(char::is_whitespace)
    {
        return Err(AuthError::Validation(format!(
            "`{email}` is not an email address."
        )));
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::Validation(format!(
            "The password must be at most {MAX_PASSWORD_BYTES} bytes."
        )));
    }
    password::check_strength(pw)
}

/// Creates a user (CLI and first-run bootstrap), audited as `user.create`.
pub async fn add_user(
    pool: &PgPool,
    ctx: &AuditContext,
    email: &str,
    pw: &str,
) -> Result<User, AuthError> {
    let email = email.trim();
    check_new_account(email, pw)?;
    let phc = password::hash(pw.to_owned()).await?;
    let mut tx = Change::begin(pool).await?;
    let user = db::insert_user(&mut tx, email, &phc)
        .await
        .map_err(|e| match &e {
            e if crate::db::violated_constraint(e) == Some("users_email_key") => {
                AuthError::Conflict(format!("A user with email {email} already exists."))
            }
            _ => AuthError::Database(e),
        })?;
    tx.record(
        ctx,
        Record {
            action: Action::UserCreate,
            target: Some(email),
            result: "ok",
            details: json!({"id": user.id}),
        },
    )
    .await?;
    tx.commit_unpublished().await?;
    Ok(user)
}

/// Replaces a user's password and ends all their sessions, audited as `user.passwd`.
pub async fn set_password(
    pool: &PgPool,
    ctx: &AuditContext,
    email: &str,
    pw: &str,
) -> Result<(), AuthError> {
    password::check_strength(pw)?;
    let phc = password::hash(pw.to_owned()).await?;
    let mut tx = Change::begin(pool).await?;
    if !db::set_password(&mut tx, email, &phc).await? {
        return Err(AuthError::NotFound(format!("No user with email {email}.")));
    }
    let entry = Record {
        action: Action::UserPasswd,
        target: Some(email),
        result: "ok",
        details: json!({}),
    };
    record_outcome(tx, ctx, entry).await
}

/// Deletes a user (their sessions end with them), audited as `user.remove`.
pub async fn remove_user(pool: &PgPool, ctx: &AuditContext, email: &str) -> Result<(), AuthError> {
    let mut tx = Change::begin(pool).await?;
    if !db::delete_user(&mut tx, email).await? {
        return Err(AuthError::NotFound(format!("No user with email {email}.")));
    }
    let entry = Record {
        action: Action::UserRemove,
        target: Some(email),
        result: "ok",
        details: json!({}),
    };
    record_outcome(tx, ctx, entry).await
}

/// Creates the first administrator from the configuration when no user exists yet.
pub async fn bootstrap_admin(
    pool: &PgPool,
    email: Option<&str>,
    pw: Option<&str>,
) -> Result<Option<User>, AuthError> {
    let (Some(email), Some(pw)) = (email, pw) else {
        // No variables: the first administrator is created with the setup code
        // (`Auth::issue_setup_code`), `sdmd user add`, or the variables and a restart.
        return Ok(None);
    };
    if db::count_users(pool).await? > 0 {
        return Ok(None);
    }
    match add_user(pool, &AuditContext::system(), email, pw).await {
        Ok(u) => {
            tracing::info!(email = %u.email, "created the first administrator");
            Ok(Some(u))
        }
        // Another replica created it at the same moment.
        Err(AuthError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Background upkeep of the built-in auth tables, every minute until `shutdown`: closes the audit
/// windows of throttled sign-ins whose time is up (and every open one at shutdown, so the count
/// is recorded), and forgets throttle rows idle for longer than any window.
pub async fn run_maintenance(pool: PgPool, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        if let Err(e) = audit::close_windows(&pool, false).await {
            tracing::warn!(error = %e, "closing throttled sign-in windows");
        }
        if let Err(e) = db::prune_throttle(&pool, ACCOUNT_RESET_SECS.max(IP_WINDOW_SECS)).await {
            tracing::warn!(error = %e, "pruning sign-in throttle rows");
        }
    }
    match audit::close_windows(&pool, true).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(windows = n, "closed throttled sign-in windows at shutdown"),
        Err(e) => tracing::warn!(error = %e, "closing throttled sign-in windows at shutdown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_from_the_sixth_attempt_and_are_capped() {
        for n in 0..FREE_FAILURES_PER_ACCOUNT {
            assert_eq!(account_delay(n), Duration::ZERO, "{n}");
        }
        assert_eq!(account_delay(5), Duration::from_millis(250));
        assert_eq!(account_delay(6), Duration::from_millis(500));
        assert_eq!(account_delay(10), Duration::from_secs(8));
        assert_eq!(account_delay(17), Duration::from_secs(MAX_DELAY_SECS));
        assert_eq!(account_delay(i32::MAX), Duration::from_secs(MAX_DELAY_SECS));
    }
}
