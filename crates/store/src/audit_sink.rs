//! The append-only export of the audit log (`SDMD_AUDIT_SINK`): every row, once committed, as
//! one JSON line (with its `prev_hash` and `hash`) in a file opened `O_APPEND`. The file lives
//! outside the database, so `sdmd audit verify --against FILE` shows a database whose rows were
//! rewritten, removed or inserted, even by someone who also rewrote the chain head.
//!
//! Rows reach the file after commit: the append trigger sends `NOTIFY sdmd_audit` (delivered at
//! commit), and the exporter then writes every row newer than the file's last line, in id order
//! (commits happen in id order, since writers hold the chain head's lock until they end). It also
//! polls every few seconds and catches up at start, so nothing is lost while sdmd was down.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::audit::{AuditKey, CHAIN_COLUMNS, ChainRow, chain_hash, head};

/// Where the audit log is exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// JSON lines appended to this file.
    File(PathBuf),
}

/// Parses `SDMD_AUDIT_SINK`: `file:/path/audit.jsonl`. `syslog` is refused with a message (not
/// implemented: it could not be tried against a real syslog daemon here).
pub fn parse(value: &str) -> Result<SinkConfig, String> {
    let v = value.trim();
    if let Some(path) = v.strip_prefix("file:") {
        if path.is_empty() {
            return Err(
                "SDMD_AUDIT_SINK=file: needs a path, e.g. file:/var/log/sdmd/audit.jsonl".into(),
            );
        }
        return Ok(SinkConfig::File(PathBuf::from(path)));
    }
    if v == "syslog" || v.starts_with("syslog:") {
        return Err("SDMD_AUDIT_SINK=syslog is not supported: use file:/path/audit.jsonl (JSON lines, append-only) and let your log shipper (rsyslog imfile, vector, fluent-bit) forward that file".into());
    }
    Err(format!(
        "SDMD_AUDIT_SINK `{v}` is not understood: use file:/path/audit.jsonl"
    ))
}

/// One exported row: the stored fields, time in UTC microseconds, links in hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinkLine {
    /// Row id.
    pub id: i64,
    /// RFC 3339, UTC, microseconds (exactly as the link covers it).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// Outcome.
    pub result: String,
    /// Server request id.
    pub request_id: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Details.
    pub details: Option<serde_json::Value>,
    /// The client's `x-request-id`.
    pub client_request_id: Option<String>,
    /// Hex link of the previous row.
    pub prev_hash: Option<String>,
    /// Hex link of this row.
    pub hash: Option<String>,
}

const AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

impl SinkLine {
    fn of(r: &ChainRow) -> Self {
        Self {
            id: r.id,
            at: r.at.format(AT_FORMAT).to_string(),
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            result: r.result.clone(),
            request_id: r.request_id.clone(),
            client_ip: r.client_ip.clone(),
            details: r.details.clone(),
            client_request_id: r.client_request_id.clone(),
            prev_hash: r.prev_hash.as_ref().map(hex::encode),
            hash: r.hash.as_ref().map(hex::encode),
        }
    }

    fn row(&self) -> anyhow::Result<ChainRow> {
        let hex_opt = |h: &Option<String>| -> anyhow::Result<Option<Vec<u8>>> {
            h.as_deref()
                .map(hex::decode)
                .transpose()
                .context("a hash is not hex")
        };
        Ok(ChainRow {
            id: self.id,
            at: DateTime::parse_from_rfc3339(&self.at)
                .context("`at` is not an RFC 3339 time")?
                .with_timezone(&Utc),
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            result: self.result.clone(),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
            details: self.details.clone(),
            prev_hash: hex_opt(&self.prev_hash)?,
            hash: hex_opt(&self.hash)?,
            client_request_id: self.client_request_id.clone(),
        })
    }
}

/// The exporter's file.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: std::fs::File,
    /// Id and hash of the file's last line.
    last: Option<(i64, Option<String>)>,
}

/// The last complete line of `path` (None for a missing or empty file).
fn last_line(path: &Path) -> anyhow::Result<Option<SinkLine>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut last = None;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        last =
            Some(serde_json::from_str::<SinkLine>(&line).with_context(|| {
                format!("{} line {} is not an audit row", path.display(), n + 1)
            })?);
    }
    Ok(last)
}

impl FileSink {
    /// Opens (creating, mode 0600) `path` for appending and finds where it ends. Refuses a file
    /// whose last row the database contradicts (a different hash, or a row newer than the
    /// database's newest): the database was rewritten or restored, or the file belongs to another
    /// installation — `sdmd audit verify --against` tells which; move the file aside to start a
    /// new one.
    pub async fn open(path: &Path, pool: &sqlx::PgPool) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening the audit sink {}", path.display()))?;
        let last = last_line(path)?;
        if let Some(line) = &last {
            let (max,): (Option<i64>,) = sqlx::query_as("select max(id) from audit_log")
                .fetch_one(pool)
                .await?;
            if max.is_none_or(|m| m < line.id) {
                bail!(
                    "the audit sink {} ends at row {} but the database's newest row is {}: rows were removed from the database, or the file belongs to another installation (check with `sdmd audit verify --against {}`, then move the file aside)",
                    path.display(),
                    line.id,
                    max.map_or("none".into(), |m| m.to_string()),
                    path.display()
                );
            }
            let stored: Option<Option<Vec<u8>>> =
                sqlx::query_scalar("select hash from audit_log where id = $1")
                    .bind(line.id)
                    .fetch_optional(pool)
                    .await?;
            if let Some(hash) = stored
                && hash.as_ref().map(hex::encode) != line.hash
            {
                bail!(
                    "the audit sink {} and the database disagree about row {}: the database was rewritten, or the file belongs to another installation (check with `sdmd audit verify --against {}`)",
                    path.display(),
                    line.id,
                    path.display()
                );
            }
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            last: last.map(|l| (l.id, l.hash)),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends every committed row newer than the file's last line, one `write` per line, then
    /// syncs the file. Returns how many were written.
    pub async fn export_pending(&mut self, pool: &sqlx::PgPool) -> anyhow::Result<usize> {
        let mut written = 0;
        loop {
            let after = self.last.as_ref().map_or(i64::MIN, |(id, _)| *id);
            let rows = sqlx::query_as::<_, ChainRow>(sqlx::AssertSqlSafe(format!(
                "select {CHAIN_COLUMNS} from audit_log where id > $1 order by id limit 500"
            )))
            .bind(after)
            .fetch_all(pool)
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            let last = (last.id, last.hash.as_ref().map(hex::encode));
            let mut buf = Vec::new();
            for r in &rows {
                buf.clear();
                serde_json::to_writer(&mut buf, &SinkLine::of(r))?;
                buf.push(b'\n');
                self.file
                    .write_all(&buf)
                    .with_context(|| format!("writing the audit sink {}", self.path.display()))?;
            }
            self.file.sync_data()?;
            written += rows.len();
            self.last = Some(last);
        }
        Ok(written)
    }
}

/// Exports rows as they are committed until `shutdown`, then once more. Errors are logged and
/// retried (the next notification or poll writes what was missed).
pub async fn run(
    pool: sqlx::PgPool,
    mut sink: FileSink,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use std::time::Duration;
    let poll = Duration::from_secs(5);
    let mut listener = None;
    loop {
        if listener.is_none() {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen("sdmd_audit").await {
                    Ok(()) => listener = Some(l),
                    Err(e) => tracing::warn!(error = %e, "audit sink: LISTEN failed; polling"),
                },
                Err(e) => tracing::warn!(error = %e, "audit sink: no listener connection; polling"),
            }
        }
        if let Err(e) = sink.export_pending(&pool).await {
            tracing::error!(error = %format!("{e:#}"), path = %sink.path().display(), "audit sink: export failed; retrying");
        }
        let notified = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            r = notified => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "audit sink: listener lost; reconnecting");
                    listener = None;
                }
            }
            () = tokio::time::sleep(poll) => {}
        }
    }
    if let Err(e) = sink.export_pending(&pool).await {
        tracing::error!(error = %format!("{e:#}"), "audit sink: final export failed");
    }
}

/// What [`compare`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Rows identical in both.
    pub matched: u64,
    /// Rows of the sink that the database no longer has because `sdmd audit prune` removed them.
    pub pruned: u64,
    /// Database rows newer than the sink's last line (not exported yet).
    pub pending: u64,
    /// Every disagreement: (row id, what).
    pub problems: Vec<(i64, String)>,
}

/// Compares the database with a sink file, row by row: a row rewritten in the database (or in
/// the file), a row missing from the database that no `audit.prune` row accounts for, a row in
/// the database that never reached the file although newer rows did (inserted behind the
/// exporter's back), and the file's own links (`prev_hash` of each line is the previous line's
/// hash; HMAC rows checked with `key`).
pub async fn compare(
    pool: &sqlx::PgPool,
    key: &AuditKey,
    path: &Path,
) -> anyhow::Result<Comparison> {
    use futures_util::TryStreamExt;
    let head = head(pool).await?;
    // Ranges removed by `sdmd audit prune`, as its rows record them.
    let prunes: Vec<(Option<serde_json::Value>,)> =
        sqlx::query_as("select details from audit_log where action = 'audit.prune' order by id")
            .fetch_all(pool)
            .await?;
    let pruned_ranges: Vec<(i64, i64)> = prunes
        .iter()
        .filter_map(|(d,)| {
            let d = d.as_ref()?;
            Some((d.get("from_id")?.as_i64()?, d.get("to_id")?.as_i64()?))
        })
        .collect();
    let db_first: Option<i64> = sqlx::query_scalar("select min(id) from audit_log")
        .fetch_one(pool)
        .await?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines().enumerate();
    let mut next_line = move || -> anyhow::Result<Option<(usize, ChainRow)>> {
        for (n, line) in lines.by_ref() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: SinkLine = serde_json::from_str(&line).with_context(|| {
                format!("{} line {} is not an audit row", path.display(), n + 1)
            })?;
            return Ok(Some((n + 1, parsed.row()?)));
        }
        Ok(None)
    };
    let mut db = sqlx::query_as::<_, ChainRow>(sqlx::AssertSqlSafe(format!(
        "select {CHAIN_COLUMNS} from audit_log order by id"
    )))
    .fetch(pool);
    let mut out = Comparison::default();
    let mut file_row = next_line()?;
    let mut db_row = db.try_next().await?;
    let mut file_prev: Option<(i64, Option<Vec<u8>>)> = None;
    let file_last_id = last_line(path)?.map(|l| l.id);
    while file_row.is_some() || db_row.is_some() {
        // The file's own chain.
        if let Some((n, f)) = &file_row
            && db_row.as_ref().is_none_or(|d| f.id <= d.id)
        {
            if let Some((pid, phash)) = &file_prev {
                if f.id <= *pid {
                    out.problems
                        .push((f.id, format!("sink line {n}: ids out of order")));
                } else if f.prev_hash != *phash {
                    out.problems.push((
                        f.id,
                        format!("sink line {n}: prev_hash is not the previous line's hash (a line was removed or altered)"),
                    ));
                }
            }
            if let (Some(prev), Some(hash)) = (&f.prev_hash, &f.hash) {
                let expect = if f.id < head.hmac_from {
                    chain_hash(prev, &f.canonical())
                } else {
                    key.link(prev, &f.canonical())
                };
                if expect.as_slice() != hash.as_slice() {
                    out.problems.push((
                        f.id,
                        format!(
                            "sink line {n}: the line's link does not hold (the file was altered)"
                        ),
                    ));
                }
            }
            file_prev = Some((f.id, f.hash.clone()));
        }
        match (file_row.take(), db_row.take()) {
            (Some((n, f)), Some(d)) if f.id == d.id => {
                if f.hash != d.hash
                    || f.prev_hash != d.prev_hash
                    || f.canonical().bytes() != d.canonical().bytes()
                {
                    out.problems.push((
                        d.id,
                        format!(
                            "row {} differs from sink line {n}: rewritten in the database",
                            d.id
                        ),
                    ));
                } else {
                    out.matched += 1;
                }
                file_row = next_line()?;
                db_row = db.try_next().await?;
            }
            (Some((n, f)), d) if d.as_ref().is_none_or(|d| f.id < d.id) => {
                let by_prune = db_first.is_some_and(|first| f.id < first)
                    && pruned_ranges
                        .iter()
                        .any(|(lo, hi)| *lo <= f.id && f.id <= *hi);
                if by_prune {
                    out.pruned += 1;
                } else {
                    out.problems.push((
                        f.id,
                        format!(
                            "row {} (sink line {n}) is missing from the database: deleted",
                            f.id
                        ),
                    ));
                }
                file_row = next_line()?;
                db_row = d;
            }
            (f, Some(d)) => {
                if file_last_id.is_some_and(|last| d.id < last) {
                    out.problems.push((
                        d.id,
                        format!("row {} is in the database but not in the sink, although later rows are: inserted directly", d.id),
                    ));
                } else {
                    out.pending += 1;
                }
                file_row = f;
                db_row = db.try_next().await?;
            }
            // The arms above take every file row left when the database has none.
            (_, None) => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sink_setting() {
        assert_eq!(
            parse("file:/var/log/sdmd/audit.jsonl"),
            Ok(SinkConfig::File("/var/log/sdmd/audit.jsonl".into()))
        );
        assert!(parse("file:").is_err());
        let syslog = parse("syslog").unwrap_err();
        assert!(syslog.contains("not supported"), "{syslog}");
        assert!(parse("http://x").unwrap_err().contains("not understood"));
    }
}
