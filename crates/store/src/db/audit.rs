//! The append-only audit log. Every mutation records exactly one row through [`record`], inside
//! the same transaction as the change it describes.
//!
//! Stored fields are bounded (docs/security.md): text fields at [`TEXT_LIMIT`] bytes, details at
//! [`DETAILS_LIMIT`] bytes, so no request can write rows of arbitrary size. Repeated events (a
//! flood of throttled sign-ins) go through [`record_repeated`]: one row opens a window, one row
//! closes it with the count.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

pub use sdmd_model::audit::Entry;

/// The key of the chain's HMAC links: HKDF-SHA256 of the installation's master key
/// (`SDMD_SECRET_KEY`, `secrets::master_key`) under the label [`AuditKey::LABEL`]. The
/// database never holds it, so whoever can rewrite the database but lacks the key cannot forge a
/// link (docs/security.md).
pub struct AuditKey {
    key: ring::hmac::Key,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

struct HmacLen;

impl ring::hkdf::KeyType for HmacLen {
    fn len(&self) -> usize {
        32
    }
}

impl AuditKey {
    /// The HKDF context of the audit key (distinct from every other use of the master key).
    pub const LABEL: &'static [u8] = b"sdmd audit chain hmac-sha256 v1";

    /// Derives the audit key from the 32-byte master key.
    pub fn derive(master: &[u8; 32]) -> Self {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"sdmd").extract(master);
        let mut bytes = [0u8; 32];
        // Cannot fail: 32 bytes is far below HKDF-SHA256's limit of 255 × 32.
        if let Ok(okm) = prk.expand(&[Self::LABEL], HmacLen) {
            let _ = okm.fill(&mut bytes);
        }
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes),
        }
    }

    /// A key of this process only (tests, and library users that never install one).
    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        let mut k = [0u8; 32];
        // The system RNG failing leaves a zero key; `derive` still separates it by label.
        let _ = ring::rand::SystemRandom::new().fill(&mut k);
        Self::derive(&k)
    }

    pub(crate) fn link(&self, prev: &[u8], row: &CanonicalRow<'_>) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(prev);
        ctx.update(&row.bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

static KEY: OnceLock<AuditKey> = OnceLock::new();

/// Makes `key` the one [`record`] links rows with, for the rest of the process. `sdmd serve`
/// and the maintenance commands install the key derived from `SDMD_SECRET_KEY` before writing
/// anything; it fails if rows were already linked under another key in this process.
pub fn install_key(key: AuditKey) -> Result<(), String> {
    KEY.set(key)
        .map_err(|_| "the audit key was already chosen in this process".to_owned())
}

/// The key [`record`] links rows with: the installed one, or — when none was installed (tests
/// and embedders) — a random key of this process, with a warning, since rows linked under it
/// cannot be verified by another process.
pub fn key() -> &'static AuditKey {
    KEY.get_or_init(|| {
        tracing::warn!(
            "no audit key installed: linking audit rows under a key of this process only (sdmd serve derives it from SDMD_SECRET_KEY)"
        );
        AuditKey::random()
    })
}

/// Who did something, and from where.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// User email, token name, `scheduler` or `system`.
    pub actor: String,
    /// The request id the server made (also answered as `x-request-id`), when the action came
    /// through the API.
    pub request_id: Option<String>,
    /// The client's address, when known.
    pub client_ip: Option<String>,
    /// The `x-request-id` the client sent, if any (never trusted as the request id).
    pub client_request_id: Option<String>,
}

impl AuditContext {
    /// Actions SDMD takes on its own.
    pub fn system() -> Self {
        Self {
            actor: "system".into(),
            ..Self::default()
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// What was done, e.g. `service.create`, `service.deploy`.
    pub action: &'a str,
    /// What it was done to, e.g. the service name.
    pub target: Option<&'a str>,
    /// `ok` or the error code.
    pub result: &'a str,
    /// Before → after summary and other technical facts.
    pub details: serde_json::Value,
}

/// An audit row as read from the database (becomes an [`Entry`]); `select` the columns
/// [`ENTRY_COLUMNS`] names.
#[derive(sqlx::FromRow)]
pub struct EntryRow {
    id: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    target: Option<String>,
    result: String,
    request_id: Option<String>,
    client_ip: Option<String>,
    details: Option<serde_json::Value>,
    hash: Option<String>,
    client_request_id: Option<String>,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Self {
        Entry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            result: r.result,
            request_id: r.request_id,
            client_ip: r.client_ip,
            details: r.details,
            hash: r.hash,
            client_request_id: r.client_request_id,
        }
    }
}

pub const ENTRY_COLUMNS: &str = "id, at, actor, action, target, result, request_id, client_ip, details, encode(hash, 'hex') as hash, client_request_id";

/// Longest stored actor, action, target, result, request ids and client address, in bytes
/// (longer values are cut on a character boundary and end with `…`).
pub const TEXT_LIMIT: usize = 512;
/// Longest stored details (compact JSON), in bytes. Larger details have their strings cut to
/// [`DETAILS_STRING_LIMIT`] bytes (and gain `"_truncated": true`); if that is still too large
/// they are replaced by `{"_truncated": true, "bytes": <original size>}`.
pub const DETAILS_LIMIT: usize = 16 * 1024;
/// Longest string inside oversized details, in bytes.
pub const DETAILS_STRING_LIMIT: usize = 1024;

/// `s` cut to at most `max` bytes on a character boundary, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

fn cut_strings(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(truncate(s, DETAILS_STRING_LIMIT).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(cut_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), cut_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Details bounded to [`DETAILS_LIMIT`] bytes.
fn bounded_details(v: &serde_json::Value) -> Cow<'_, serde_json::Value> {
    let size = v.to_string().len();
    if size <= DETAILS_LIMIT {
        return Cow::Borrowed(v);
    }
    let mut cut = cut_strings(v);
    if let Some(map) = cut.as_object_mut() {
        map.insert("_truncated".into(), true.into());
    }
    if cut.to_string().len() <= DETAILS_LIMIT {
        return Cow::Owned(cut);
    }
    Cow::Owned(serde_json::json!({"_truncated": true, "bytes": size}))
}

/// Appends one row (call it inside the transaction of the change it records). Fields are
/// bounded first ([`TEXT_LIMIT`], [`DETAILS_LIMIT`]); the chain covers what is stored.
///
/// `audit_reserve()` locks the chain head until the surrounding transaction ends (which
/// serializes concurrent writers across replicas) and hands out the row's id, time and previous
/// hash; the row's link is the HMAC under [`key`]. The database's insert trigger sets the id and
/// time itself and refuses a row that does not extend the head, then moves the head.
pub async fn record(
    conn: &mut PgConnection,
    ctx: &AuditContext,
    e: &NewEntry<'_>,
) -> Result<Entry, sqlx::Error> {
    let text = |s: &str| truncate(s, TEXT_LIMIT).into_owned();
    let opt = |s: &Option<String>| s.as_deref().map(text);
    let (actor, action, target, result) = (
        text(&ctx.actor),
        text(e.action),
        e.target.map(text),
        text(e.result),
    );
    let (request_id, client_ip, client_request_id) = (
        opt(&ctx.request_id),
        opt(&ctx.client_ip),
        opt(&ctx.client_request_id),
    );
    let details = bounded_details(&e.details);
    // A savepoint inside the caller's transaction, or a transaction of its own when the caller has
    // none: the lock, the timestamp and the insert must share one transaction.
    let mut tx = conn.begin().await?;
    let (id, at, prev): (i64, DateTime<Utc>, Vec<u8>) =
        sqlx::query_as("select id, at, prev_hash from audit_reserve()")
            .fetch_one(&mut *tx)
            .await?;
    let row = CanonicalRow {
        id,
        at,
        actor: &actor,
        action: &action,
        target: target.as_deref(),
        result: &result,
        request_id: request_id.as_deref(),
        client_ip: client_ip.as_deref(),
        details: Some(details.as_ref()),
        client_request_id: client_request_id.as_deref(),
    };
    let hash = key().link(&prev, &row);
    let entry = sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(format!(
        "insert into audit_log (id, at, actor, action, target, result, request_id, client_ip, details, prev_hash, hash, client_request_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         returning {ENTRY_COLUMNS}"
    )))
    .bind(id)
    .bind(at)
    .bind(&actor)
    .bind(&action)
    .bind(&target)
    .bind(&result)
    .bind(&request_id)
    .bind(&client_ip)
    .bind(details.as_ref())
    .bind(&prev)
    .bind(hash.as_slice())
    .bind(&client_request_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entry.into())
}

/// How long a window of [`record_repeated`] stays open.
pub const REPEAT_WINDOW_SECS: i64 = 15 * 60;

/// An open window of a repeated event, as kept in `audit_windows`.
#[derive(sqlx::FromRow)]
struct Window {
    key: String,
    actor: String,
    action: String,
    target: Option<String>,
    result: String,
    details: serde_json::Value,
    opened_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    attempts: i64,
    opened_id: Option<i64>,
    last_client_ip: Option<String>,
}

/// Records one occurrence of an event that may repeat thousands of times (a throttled sign-in),
/// without one row per occurrence: the first occurrence of `key` writes a row (details gain
/// `"window": "opened"`) and opens a window of [`REPEAT_WINDOW_SECS`]; later occurrences only
/// count, in the side table `audit_windows`; [`close_windows`] (every minute, and at shutdown)
/// or the first occurrence after the window writes one closing row with `"window": "closed"`
/// and `"attempts"`. Both rows are ordinary chained rows: the chain is never rewritten.
/// Returns the row written, if any.
pub async fn record_repeated(
    conn: &mut PgConnection,
    key: &str,
    ctx: &AuditContext,
    e: &NewEntry<'_>,
) -> Result<Option<Entry>, sqlx::Error> {
    let key = truncate(key, TEXT_LIMIT);
    let mut tx = conn.begin().await?;
    let expired = sqlx::query_as::<_, Window>(
        "delete from audit_windows where key = $1 and closes_at <= now() returning *",
    )
    .bind(key.as_ref())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(w) = expired {
        close(&mut tx, w).await?;
    }
    let mut details = bounded_details(&e.details).into_owned();
    let opened: bool = sqlx::query_scalar(
        "insert into audit_windows (key, actor, action, target, result, details, closes_at, last_client_ip)
         values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)
         on conflict (key) do update
             set attempts = audit_windows.attempts + 1, last_at = now(),
                 last_client_ip = excluded.last_client_ip
         returning xmax = 0",
    )
    .bind(key.as_ref())
    .bind(&ctx.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.result)
    .bind(&details)
    .bind(REPEAT_WINDOW_SECS as f64)
    .bind(&ctx.client_ip)
    .fetch_one(&mut *tx)
    .await?;
    let mut written = None;
    if opened {
        if let Some(map) = details.as_object_mut() {
            map.insert("window".into(), "opened".into());
            map.insert("window_key".into(), key.as_ref().into());
            map.insert("window_secs".into(), REPEAT_WINDOW_SECS.into());
        }
        let entry = record(
            &mut tx,
            ctx,
            &NewEntry {
                details,
                ..e.clone()
            },
        )
        .await?;
        sqlx::query("update audit_windows set opened_id = $2 where key = $1")
            .bind(key.as_ref())
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        written = Some(entry);
    }
    tx.commit().await?;
    Ok(written)
}

async fn close(conn: &mut PgConnection, w: Window) -> Result<Entry, sqlx::Error> {
    let mut details = w.details;
    if let Some(map) = details.as_object_mut() {
        map.insert("window".into(), "closed".into());
        map.insert("window_key".into(), w.key.clone().into());
        map.insert("attempts".into(), w.attempts.into());
        map.insert("first_at".into(), w.opened_at.to_rfc3339().into());
        map.insert("last_at".into(), w.last_at.to_rfc3339().into());
        map.insert("opened_id".into(), w.opened_id.into());
        map.insert("last_client_ip".into(), w.last_client_ip.clone().into());
    }
    record(
        conn,
        &AuditContext {
            actor: w.actor,
            client_ip: w.last_client_ip,
            ..AuditContext::default()
        },
        &NewEntry {
            action: &w.action,
            target: w.target.as_deref(),
            result: &w.result,
            details,
        },
    )
    .await
}

/// Writes the closing row of every window whose time is up (`all`: of every open window, at
/// shutdown). Safe on several replicas at once: each window is closed by one of them.
pub async fn close_windows(pool: &sqlx::PgPool, all: bool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query_as::<_, Window>(
        "delete from audit_windows where closes_at <= now() or $1 returning *",
    )
    .bind(all)
    .fetch_all(&mut *tx)
    .await?;
    let n = due.len();
    for w in due {
        close(&mut tx, w).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// The fields a chain link covers, in a fixed order.
pub struct CanonicalRow<'a> {
    id: i64,
    at: DateTime<Utc>,
    actor: &'a str,
    action: &'a str,
    target: Option<&'a str>,
    result: &'a str,
    request_id: Option<&'a str>,
    client_ip: Option<&'a str>,
    details: Option<&'a serde_json::Value>,
    /// Appended only when present, so rows written before the column existed keep their hash.
    client_request_id: Option<&'a str>,
}

impl CanonicalRow<'_> {
    /// A JSON array of the fields with object keys sorted and microsecond UTC time, so that the
    /// bytes do not depend on how PostgreSQL's jsonb reorders keys. The client's request id, when
    /// there is one, is a tenth element.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut out = String::from("[");
        out.push_str(&self.id.to_string());
        out.push(',');
        canonical_json(
            &serde_json::Value::String(self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            &mut out,
        );
        for s in [
            Some(self.actor),
            Some(self.action),
            self.target,
            Some(self.result),
            self.request_id,
            self.client_ip,
        ] {
            out.push(',');
            match s {
                Some(s) => canonical_json(&serde_json::Value::String(s.to_owned()), &mut out),
                None => out.push_str("null"),
            }
        }
        out.push(',');
        match self.details {
            Some(d) => canonical_json(d, &mut out),
            None => out.push_str("null"),
        }
        if let Some(c) = self.client_request_id {
            out.push(',');
            canonical_json(&serde_json::Value::String(c.to_owned()), &mut out);
        }
        out.push(']');
        out.into_bytes()
    }
}

/// Serializes `v` with object keys sorted (recursively) and no whitespace.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(&serde_json::Value::String((*k).clone()), out);
                out.push(':');
                if let Some(child) = map.get(*k) {
                    canonical_json(child, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        // Scalars have one serialization already.
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn chain_hash(prev: &[u8], row: &CanonicalRow<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(row.bytes());
    h.finalize().into()
}

/// The hash-chain links of an [`Entry`] (what [`record`] stores and [`verify`] recomputes).
pub trait Links {
    /// The row's canonical bytes, as hashed.
    #[doc(hidden)]
    fn canonical(&self) -> CanonicalRow<'_>;
    /// The HMAC link this row's content has after `prev` under `key` (what [`record`] stores).
    fn hmac_link(&self, key: &AuditKey, prev: &[u8]) -> [u8; 32] {
        key.link(prev, &self.canonical())
    }
    /// The plain SHA-256 link of rows written before the HMAC anchor (anyone can compute it).
    fn sha256_link(&self, prev: &[u8]) -> [u8; 32] {
        chain_hash(prev, &self.canonical())
    }
}

impl Links for Entry {
    fn canonical(&self) -> CanonicalRow<'_> {
        CanonicalRow {
            id: self.id,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            target: self.target.as_deref(),
            result: &self.result,
            request_id: self.request_id.as_deref(),
            client_ip: self.client_ip.as_deref(),
            details: self.details.as_ref(),
            client_request_id: self.client_request_id.as_deref(),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every row from `first` to `last` links correctly (`rows` rows checked).
    Intact {
        /// Rows checked (legacy and HMAC links).
        rows: u64,
        /// Oldest row checked (after pruning, the oldest remaining row).
        first: Option<i64>,
        /// Newest row checked.
        last: Option<i64>,
        /// Of `rows`, those below [`Verification::Intact::hmac_from`]: written before the HMAC
        /// anchor, linked by plain SHA-256 (which anyone can recompute).
        legacy: u64,
        /// Rows written before the chain existed (no hash at all), not counted in `rows`.
        unhashed: u64,
        /// The first id linked by HMAC (the anchor, recorded when the database was migrated).
        hmac_from: i64,
    },
    /// The first row whose link does not hold, and why.
    Broken {
        /// The row id.
        id: i64,
        /// What does not match.
        reason: String,
    },
}

/// A stored row with its links, as [`verify`] and the sink read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ChainRow {
    pub(crate) id: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) result: String,
    pub(crate) request_id: Option<String>,
    pub(crate) client_ip: Option<String>,
    pub(crate) details: Option<serde_json::Value>,
    pub(crate) prev_hash: Option<Vec<u8>>,
    pub(crate) hash: Option<Vec<u8>>,
    pub(crate) client_request_id: Option<String>,
}

impl ChainRow {
    pub(crate) fn canonical(&self) -> CanonicalRow<'_> {
        CanonicalRow {
            id: self.id,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            target: self.target.as_deref(),
            result: &self.result,
            request_id: self.request_id.as_deref(),
            client_ip: self.client_ip.as_deref(),
            details: self.details.as_ref(),
            client_request_id: self.client_request_id.as_deref(),
        }
    }
}

/// The columns of [`ChainRow`].
pub(crate) const CHAIN_COLUMNS: &str = "id, at, actor, action, target, result, request_id, client_ip, details, prev_hash, hash, client_request_id";

/// The chain head and the facts about the chain's start kept beside it.
#[derive(sqlx::FromRow)]
pub(crate) struct Head {
    pub(crate) last_id: Option<i64>,
    pub(crate) last_hash: Vec<u8>,
    pub(crate) hmac_from: i64,
    pub(crate) start_id: Option<i64>,
    pub(crate) start_prev: Option<Vec<u8>>,
    pub(crate) unhashed_max_id: Option<i64>,
    pub(crate) unhashed_rows: i64,
}

pub(crate) async fn head(pool: &sqlx::PgPool) -> Result<Head, sqlx::Error> {
    sqlx::query_as(
        "select last_id, last_hash, hmac_from, start_id, start_prev, unhashed_max_id, unhashed_rows
         from audit_chain_head where id = 1",
    )
    .fetch_one(pool)
    .await
}

/// The `prev_hash` of the very first row of a chain.
const GENESIS: [u8; 32] = [0; 32];

/// Where an `audit.prune` row says the chain continues.
pub(crate) fn prune_start(details: Option<&serde_json::Value>) -> Option<(i64, Vec<u8>)> {
    let d = details?;
    let id = d.get("kept_from_id")?.as_i64()?;
    let prev = hex::decode(d.get("kept_from_prev_hash")?.as_str()?).ok()?;
    Some((id, prev))
}

/// Walks every row in id order — all of them: a row below the chain's start is reported, not
/// skipped — and names the first whose link does not hold:
///
/// * rows from `hmac_from` on must carry `HMAC-SHA256(key, prev_hash ‖ canonical row)`, rows
///   below it (written before the HMAC anchor) plain SHA-256;
/// * each row's `prev_hash` is the previous row's hash;
/// * the first row is where the chain starts: where the newest `audit.prune` row says it
///   continues, else the start recorded in the head (the first row ever written, or the first
///   chained row when the anchor was set); without a prune, an HMAC-linked first row must be the
///   genesis link (previous hash all zeros), so removing a prefix outside `sdmd audit prune` is
///   reported;
/// * rows without any hash may only precede the chain (written before it existed; counted when
///   the anchor was set);
/// * the newest row is the one the head names, so removing the newest rows is reported while
///   the head is intact.
///
/// What this cannot see: someone with both database access and `SDMD_SECRET_KEY` can rewrite
/// everything; someone with database access alone can remove the newest rows together with the
/// head's record of them (the append-only sink, the `audit_sink` module, shows that).
pub async fn verify(pool: &sqlx::PgPool, key: &AuditKey) -> Result<Verification, sqlx::Error> {
    use futures_util::TryStreamExt;
    let head = head(pool).await?;
    // Where the chain should start: as the newest prune row records it (its own link is checked
    // when the walk reaches it), else as the head recorded it when the first row was written.
    let newest_prune: Option<(i64, Option<serde_json::Value>)> = sqlx::query_as(
        "select id, details from audit_log where action = $2 and id >= $1
         order by id desc limit 1",
    )
    .bind(head.hmac_from)
    .bind(sdmd_model::audit::Action::AuditPrune.as_str())
    .fetch_optional(pool)
    .await?;
    let pruned = newest_prune
        .as_ref()
        .and_then(|(_, d)| prune_start(d.as_ref()));
    let start = pruned
        .clone()
        .or_else(|| head.start_id.zip(head.start_prev.clone()));
    let mut rows = sqlx::query_as::<_, ChainRow>(sqlx::AssertSqlSafe(format!(
        "select {CHAIN_COLUMNS} from audit_log order by id"
    )))
    .fetch(pool);
    let mut expected_prev: Option<Vec<u8>> = None;
    let mut first_row: Option<(i64, Vec<u8>)> = None;
    let (mut count, mut legacy, mut unhashed, mut last) = (0u64, 0u64, 0u64, None);
    let broken = |id: i64, reason: String| Ok(Verification::Broken { id, reason });
    while let Some(r) = rows.try_next().await? {
        let Some(hash) = &r.hash else {
            let before_chain =
                expected_prev.is_none() && head.unhashed_max_id.is_some_and(|max| r.id <= max);
            if before_chain && (unhashed as i64) < head.unhashed_rows {
                unhashed += 1;
                continue;
            }
            return broken(
                r.id,
                match head.unhashed_max_id {
                    Some(max) => format!(
                        "the row has no hash (only the {} rows written before the chain existed, ids up to {max}, may lack one)",
                        head.unhashed_rows
                    ),
                    None => "the row has no hash".into(),
                },
            );
        };
        let Some(prev) = &r.prev_hash else {
            return broken(r.id, "the row has a hash but no prev_hash".into());
        };
        match &expected_prev {
            Some(exp) if exp != prev => {
                return broken(
                    r.id,
                    "prev_hash does not match the previous row's hash (a row before it was removed, inserted or altered)".into(),
                );
            }
            Some(_) => {}
            None => {
                if let Some((start_id, start_prev)) = &start
                    && (r.id != *start_id || prev != start_prev)
                {
                    let why = if r.id < *start_id {
                        "inserted below the chain's start"
                    } else {
                        "the rows before it were removed outside `sdmd audit prune`, or the start was moved"
                    };
                    return broken(
                        r.id,
                        format!(
                            "the chain starts at row {start_id}{}, but the first row is {}: {why}",
                            if pruned.is_some() {
                                " (as the newest audit.prune row records)"
                            } else {
                                ""
                            },
                            r.id
                        ),
                    );
                }
                if pruned.is_none() && r.id >= head.hmac_from && prev.as_slice() != GENESIS {
                    return broken(
                        r.id,
                        "the first row does not start the chain (its prev_hash is not the genesis link) and no audit.prune row records a prune: rows before it were removed".into(),
                    );
                }
                first_row = Some((r.id, prev.clone()));
            }
        }
        let row = r.canonical();
        let is_legacy = r.id < head.hmac_from;
        let expected = if is_legacy {
            chain_hash(prev, &row)
        } else {
            key.link(prev, &row)
        };
        if expected.as_slice() != hash.as_slice() {
            return broken(
                r.id,
                if is_legacy {
                    "the row's content does not match its SHA-256 link (a row written before the HMAC anchor)".into()
                } else {
                    "the row's HMAC does not hold: its content was altered or its hash computed without SDMD's key (or SDMD_SECRET_KEY is not the key the log was written with)".into()
                },
            );
        }
        expected_prev = Some(hash.clone());
        count += 1;
        legacy += u64::from(is_legacy);
        last = Some(r.id);
    }
    drop(rows);
    // Removing the newest rows leaves a consistent prefix: the head remembers the last link.
    if let (Some(head_id), Some(exp)) = (head.last_id, &expected_prev)
        && (Some(head_id) != last || exp != &head.last_hash)
    {
        return broken(
            head_id,
            "the newest row recorded by the chain head is missing or differs".into(),
        );
    }
    if let (Some(head_id), None) = (head.last_id, &expected_prev) {
        return broken(head_id, "the chain head names a row that is missing".into());
    }
    Ok(Verification::Intact {
        rows: count,
        first: first_row.map(|(id, _)| id),
        last,
        legacy,
        unhashed,
        hmac_from: head.hmac_from,
    })
}

/// What [`prune`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// Rows deleted.
    pub deleted: u64,
    /// Lowest and highest id deleted.
    pub range: Option<(i64, i64)>,
    /// The `audit.prune` row that records it.
    pub row: i64,
}

/// Why [`prune`] did not prune.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The chain does not verify: pruning would move its start past the evidence.
    #[error(
        "the audit chain is broken at row {id} ({reason}): not pruning, since a prune moves the chain's start and could hide it; investigate with `sdmd audit verify`"
    )]
    Broken {
        /// The first broken row.
        id: i64,
        /// Why.
        reason: String,
    },
    /// The database refused (e.g. rows younger than 90 days) or failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Deletes the oldest rows, those older than `older_than_days` (at least 90, which the database
/// enforces too), always keeping the newest row. Only a prefix is removed (rows below the first
/// younger one), so the chain stays whole; the head's start moves to the first kept row, and an
/// `audit.prune` row (actor `ctx`) records the range and where the chain now starts, so
/// [`verify`] checks the new start against an HMAC-linked record rather than taking it as given.
/// A chain that does not verify is not pruned (the prune row would record a tampered start as
/// legitimate). Runs as the table owner: the application's role has no DELETE privilege.
pub async fn prune(
    pool: &sqlx::PgPool,
    ctx: &AuditContext,
    older_than_days: u32,
) -> Result<Pruned, PruneError> {
    if let Verification::Broken { id, reason } = verify(pool, key()).await? {
        return Err(PruneError::Broken { id, reason });
    }
    let days = i32::try_from(older_than_days).unwrap_or(i32::MAX);
    let mut tx = pool.begin().await?;
    sqlx::query("set local sdmd.audit_prune = 'on'")
        .execute(&mut *tx)
        .await?;
    // The chain head's lock: no row is appended while the prefix goes.
    let last_id: Option<i64> =
        sqlx::query_scalar("select last_id from audit_chain_head where id = 1 for update")
            .fetch_one(&mut *tx)
            .await?;
    let (deleted, lo, hi): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "with gone as (
             delete from audit_log
             where id < coalesce((select min(id) from audit_log
                                  where at >= now() - make_interval(days => $1)), $2)
               and id < $2
             returning id)
         select count(*), min(id), max(id) from gone",
    )
    .bind(days)
    .bind(last_id.unwrap_or(i64::MIN))
    .fetch_one(&mut *tx)
    .await?;
    let kept: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "select id, prev_hash from audit_log where hash is not null order by id limit 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if deleted > 0
        && let Some((id, prev)) = &kept
    {
        sqlx::query("update audit_chain_head set start_id = $1, start_prev = $2 where id = 1")
            .bind(id)
            .bind(prev)
            .execute(&mut *tx)
            .await?;
    }
    let (kept_id, kept_prev) = match &kept {
        Some((id, prev)) => (Some(*id), Some(hex::encode(prev))),
        None => (None, None),
    };
    let entry = record(
        &mut tx,
        ctx,
        &NewEntry {
            action: sdmd_model::audit::Action::AuditPrune.as_str(),
            target: None,
            result: "ok",
            details: serde_json::json!({
                "older_than_days": older_than_days,
                "deleted": deleted,
                "from_id": lo,
                "to_id": hi,
                "kept_from_id": kept_id,
                "kept_from_prev_hash": kept_prev,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Pruned {
        deleted: u64::try_from(deleted).unwrap_or(0),
        range: lo.zip(hi),
        row: entry.id,
    })
}

/// Filters for listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only rows with id below this (cursor).
    pub before: Option<i64>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Action, exact or prefix with a trailing `*` (e.g. `service.*`).
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    /// Rows at or after.
    pub since: Option<DateTime<Utc>>,
    /// Rows before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
}

/// The filter of [`list`] and [`export`], on parameters `$1`..`$6`.
const FILTER_SQL: &str = "($1::bigint is null or id < $1)
           and ($2::text is null or actor = $2)
           and ($3::text is null or action like $3)
           and ($4::text is null or target = $4)
           and ($5::timestamptz is null or at >= $5)
           and ($6::timestamptz is null or at < $6)";

impl Filter {
    /// `action` as a LIKE pattern (a trailing `*` is a prefix match).
    fn action_pattern(&self) -> Option<String> {
        self.action.as_ref().map(|a| match a.strip_suffix('*') {
            Some(prefix) => format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_")),
            None => a.replace('%', "\\%").replace('_', "\\_"),
        })
    }
}

/// Binds the six filter parameters of [`FILTER_SQL`].
macro_rules! bind_filter {
    ($q:expr, $f:expr) => {
        $q.bind($f.before)
            .bind($f.actor.clone())
            .bind($f.action_pattern())
            .bind($f.target.clone())
            .bind($f.since)
            .bind($f.until)
    };
}

/// Lists rows newest first.
pub async fn list(pool: &sqlx::PgPool, f: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
    bind_filter!(
        sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(format!(
            "select {ENTRY_COLUMNS} from audit_log where {FILTER_SQL} order by id desc limit $7"
        ))),
        f
    )
    .bind(f.limit)
    .fetch_all(pool)
    .await
    .map(|rows: Vec<EntryRow>| rows.into_iter().map(Entry::from).collect())
}

/// Rows per query of [`export`].
pub const EXPORT_CHUNK: i64 = 500;

/// The newest `f.limit` matching rows (at most 100,000), oldest first, as a stream of chunks of
/// [`EXPORT_CHUNK`] rows: each chunk is one short query (keyset pagination on `id`), so an
/// export holds neither the whole result in memory nor a pooled connection while the client
/// reads slowly. Rows appended during the export are not included.
pub fn export(
    pool: sqlx::PgPool,
    f: Filter,
) -> impl futures_util::Stream<Item = Result<Vec<Entry>, sqlx::Error>> + Send + 'static {
    async_stream::try_stream! {
        let limit = f.limit.clamp(1, 100_000);
        let (lo, hi): (Option<i64>, Option<i64>) = bind_filter!(
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select min(id), max(id) from
                   (select id from audit_log where {FILTER_SQL} order by id desc limit $7) newest"
            ))),
            f
        )
        .bind(limit)
        .fetch_one(&pool)
        .await?;
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let mut after = lo - 1;
            loop {
                let rows: Vec<EntryRow> = bind_filter!(
                    sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(format!(
                        "select {ENTRY_COLUMNS} from audit_log
                         where {FILTER_SQL} and id > $7 and id <= $8 order by id limit $9"
                    ))),
                    f
                )
                .bind(after)
                .bind(hi)
                .bind(EXPORT_CHUNK)
                .fetch_all(&pool)
                .await?;
                let rows: Vec<Entry> = rows.into_iter().map(Entry::from).collect();
                let full = rows.len() as i64 == EXPORT_CHUNK;
                match rows.last() {
                    Some(last) => after = last.id,
                    None => break,
                }
                yield rows;
                if !full {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn canon(v: serde_json::Value) -> String {
        let mut s = String::new();
        canonical_json(&v, &mut s);
        s
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = serde_json::json!({"b": 1, "a": {"z": [1, {"y": null, "x": "é"}], "c": true}});
        assert_eq!(
            canon(a),
            r#"{"a":{"c":true,"z":[1,{"x":"é","y":null}]},"b":1}"#
        );
        // Insertion order does not matter (jsonb returns keys in its own order).
        let mut m = serde_json::Map::new();
        m.insert("k2".into(), 2.into());
        m.insert("k1".into(), 1.into());
        assert_eq!(canon(serde_json::Value::Object(m)), r#"{"k1":1,"k2":2}"#);
    }

    #[test]
    fn each_field_changes_the_link() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T12:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = serde_json::json!({"x": 1});
        let base = CanonicalRow {
            id: 7,
            at,
            actor: "a",
            action: "b",
            target: Some("c"),
            result: "ok",
            request_id: None,
            client_ip: Some("127.0.0.1"),
            details: Some(&d),
            client_request_id: None,
        };
        let h = chain_hash(&[0; 32], &base);
        assert_ne!(h, chain_hash(&[1; 32], &base), "prev hash");
        assert_ne!(
            h,
            chain_hash(&[0; 32], &CanonicalRow { id: 8, ..base }),
            "id"
        );
        assert_ne!(
            h,
            chain_hash(
                &[0; 32],
                &CanonicalRow {
                    target: None,
                    ..base
                }
            ),
            "target"
        );
        assert_ne!(
            h,
            chain_hash(
                &[0; 32],
                &CanonicalRow {
                    request_id: Some(""),
                    ..base
                }
            ),
            "null vs empty"
        );
        assert_eq!(
            h,
            chain_hash(&[0; 32], &CanonicalRow { ..base }),
            "deterministic"
        );
        // Rows without a client request id hash as before the column existed (nine fields).
        assert!(!String::from_utf8(base.bytes()).unwrap().ends_with(",null]"));
        assert_ne!(
            h,
            chain_hash(
                &[0; 32],
                &CanonicalRow {
                    client_request_id: Some(""),
                    ..base
                }
            ),
            "client request id"
        );
    }

    #[test]
    fn the_audit_key_is_derived_and_keys_every_link() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let row = CanonicalRow {
            id: 1,
            at,
            actor: "a",
            action: "b",
            target: None,
            result: "ok",
            request_id: None,
            client_ip: None,
            details: None,
            client_request_id: None,
        };
        let (k1, k1_again, k2) = (
            AuditKey::derive(&[1; 32]),
            AuditKey::derive(&[1; 32]),
            AuditKey::derive(&[2; 32]),
        );
        let link = k1.link(&GENESIS, &row);
        assert_eq!(link, k1_again.link(&GENESIS, &row), "deterministic");
        assert_ne!(link, k2.link(&GENESIS, &row), "another master key");
        assert_ne!(
            link,
            chain_hash(&GENESIS, &row),
            "not the plain SHA-256 link"
        );
        // The HMAC key is not the master key itself (HKDF under the audit label).
        let raw = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[1; 32]);
        let mut ctx = ring::hmac::Context::with_key(&raw);
        ctx.update(&GENESIS);
        ctx.update(&row.bytes());
        assert_ne!(link.as_slice(), ctx.sign().as_ref());
    }

    #[test]
    fn truncation_keeps_characters_whole_and_bounds_details() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(100);
        let cut = truncate(&long, 11);
        assert!(cut.len() <= 11 && cut.ends_with('…'), "{cut}");
        let big = serde_json::json!({"a": "x".repeat(50_000), "keep": 7});
        let b = bounded_details(&big);
        assert!(b.to_string().len() <= DETAILS_LIMIT);
        assert_eq!(b["keep"], 7);
        assert_eq!(b["_truncated"], true);
        let many: Vec<String> = (0..100).map(|_| "y".repeat(2000)).collect();
        let many = serde_json::json!(many);
        let b = bounded_details(&many);
        assert_eq!(b["_truncated"], true);
        assert!(b["bytes"].as_u64().unwrap() > DETAILS_LIMIT as u64);
    }
}
