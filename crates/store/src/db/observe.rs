//! Resource samples (three resolutions with a rollup job that runs once across replicas) and the
//! status/health transitions of containers.

use chrono::{DateTime, Utc};
use sdmd_model::observe::{Resolution, Sample, Transition, TransitionKind};
use sqlx::PgPool;

/// One container's figures of one round, with who it belongs to.
#[derive(Debug, Clone)]
pub struct SampleRow {
    /// Container id.
    pub container_id: String,
    /// Its service.
    pub service: String,
    /// Its member.
    pub member: String,
    /// Its name.
    pub container: String,
    /// CPU in percent of one core.
    pub cpu_percent: f64,
    /// Memory without page cache.
    pub memory_bytes: i64,
    /// Limit (host memory when unlimited).
    pub memory_limit_bytes: i64,
    /// Received bytes/s.
    pub net_rx_bytes_per_s: Option<f64>,
    /// Sent bytes/s.
    pub net_tx_bytes_per_s: Option<f64>,
    /// Block reads bytes/s.
    pub block_read_bytes_per_s: f64,
    /// Block writes bytes/s.
    pub block_write_bytes_per_s: f64,
    /// PIDs.
    pub pids: i64,
}

/// Writes one sampling round in one statement; a round another replica already wrote for the
/// same instant is skipped (the key). Returns the rows written.
pub async fn insert_round(
    pool: &PgPool,
    at: DateTime<Utc>,
    rows: &[SampleRow],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    macro_rules! col {
        ($f:ident) => {
            rows.iter().map(|r| r.$f.clone()).collect::<Vec<_>>()
        };
    }
    let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let of32s = |v: Vec<Option<f64>>| {
        v.into_iter()
            .map(|x| x.map(|x| x as f32))
            .collect::<Vec<Option<f32>>>()
    };
    let pids: Vec<i32> = rows
        .iter()
        .map(|r| i32::try_from(r.pids).unwrap_or(i32::MAX))
        .collect();
    let r = sqlx::query(
        "insert into container_samples (at, container_id, service, member, container, \
         cpu_percent, memory_bytes, memory_limit_bytes, net_rx_bytes_per_s, net_tx_bytes_per_s, \
         block_read_bytes_per_s, block_write_bytes_per_s, pids) \
         select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::real[], \
         $7::bigint[], $8::bigint[], $9::real[], $10::real[], $11::real[], $12::real[], \
         $13::int[]) on conflict do nothing",
    )
    .bind(at)
    .bind(col!(container_id))
    .bind(col!(service))
    .bind(col!(member))
    .bind(col!(container))
    .bind(f32s(col!(cpu_percent)))
    .bind(col!(memory_bytes))
    .bind(col!(memory_limit_bytes))
    .bind(of32s(col!(net_rx_bytes_per_s)))
    .bind(of32s(col!(net_tx_bytes_per_s)))
    .bind(f32s(col!(block_read_bytes_per_s)))
    .bind(f32s(col!(block_write_bytes_per_s)))
    .bind(pids)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// What one rollup pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Whether this replica held the job's lock (another replica was running it otherwise).
    pub ran: bool,
    /// Rows written to the 1-minute table.
    pub minute_rows: u64,
    /// Rows written to the 15-minute table.
    pub quarter_rows: u64,
    /// Rows deleted past their retention (all tables).
    pub expired_rows: u64,
}

/// The advisory lock key of the rollup job (`'sdmd:rollup'` hashed by hand, fixed).
const ROLLUP_LOCK: i64 = 0x5d3d_0b5e_0001;

/// Rolls finished minutes of raw samples into the 1-minute table and finished quarter hours of
/// those into the 15-minute table, then deletes what is past its retention (raw 24 h, 1 min 7
/// days, 15 min 90 days, transitions `transitions_days`). Runs under a transaction-scoped
/// advisory lock and a stored watermark, so each window is rolled up exactly once however many
/// replicas call it; `replica` names the caller in the runs table.
pub async fn rollup(
    pool: &PgPool,
    replica: &str,
    transitions_days: i64,
) -> Result<RollupReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(ROLLUP_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(RollupReport::default());
    }
    let mut report = RollupReport {
        ran: true,
        ..RollupReport::default()
    };
    // A minute is final once its last round has surely been written (15 s later).
    for (res, source, width, lag, weight) in [
        (
            Resolution::Minute,
            "container_samples",
            "1 minute",
            "15 seconds",
            "1",
        ),
        (
            Resolution::Quarter,
            "container_samples_1m",
            "15 minutes",
            "90 seconds",
            "samples",
        ),
    ] {
        let table = if res == Resolution::Minute {
            "container_samples_1m"
        } else {
            "container_samples_15m"
        };
        let end: DateTime<Utc> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select date_bin('{width}', now() - interval '{lag}', timestamptz 'epoch')"
        )))
        .fetch_one(&mut *tx)
        .await?;
        let start: Option<DateTime<Utc>> =
            sqlx::query_scalar("select done_until from stats_rollups where resolution = $1")
                .bind(res.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let start = match start {
            Some(s) => s,
            None => sqlx::query_scalar::<_, Option<DateTime<Utc>>>(sqlx::AssertSqlSafe(format!(
                "select date_bin('{width}', min(at), timestamptz 'epoch') from {source}"
            )))
            .fetch_one(&mut *tx)
            .await?
            .unwrap_or(end),
        };
        if start >= end {
            continue;
        }
        let max_cpu = if res == Resolution::Minute {
            "cpu_percent"
        } else {
            "cpu_percent_max"
        };
        let max_mem = if res == Resolution::Minute {
            "memory_bytes"
        } else {
            "memory_bytes_max"
        };
        let count = if res == Resolution::Minute {
            "count(*)"
        } else {
            "sum(samples)"
        };
        let w = |col: &str| {
            format!(
                "(sum({col}::float8 * {weight}) / \
                 nullif(sum(case when {col} is null then 0 else {weight} end), 0))"
            )
        };
        let sql = format!(
            "insert into {table} (at, container_id, service, member, container, cpu_percent, \
             cpu_percent_max, memory_bytes, memory_bytes_max, memory_limit_bytes, \
             net_rx_bytes_per_s, net_tx_bytes_per_s, block_read_bytes_per_s, \
             block_write_bytes_per_s, pids, samples) \
             select date_bin('{width}', at, timestamptz 'epoch') as bucket, container_id, \
             max(service), max(member), max(container), {cpu}, max({max_cpu}), \
             {mem}::bigint, max({max_mem}), max(memory_limit_bytes), {rx}, {tx}, {br}, {bw}, \
             max(pids), {count} \
             from {source} where at >= $1 and at < $2 group by bucket, container_id \
             on conflict do nothing",
            cpu = w("cpu_percent"),
            mem = w("memory_bytes"),
            rx = w("net_rx_bytes_per_s"),
            tx = w("net_tx_bytes_per_s"),
            br = w("block_read_bytes_per_s"),
            bw = w("block_write_bytes_per_s"),
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "insert into stats_rollups (resolution, done_until) values ($1, $2) \
             on conflict (resolution) do update set done_until = excluded.done_until",
        )
        .bind(res.as_str())
        .bind(end)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into stats_rollup_runs (resolution, window_start, window_end, rows_written, \
             replica) values ($1, $2, $3, $4, $5)",
        )
        .bind(res.as_str())
        .bind(start)
        .bind(end)
        .bind(i32::try_from(rows).unwrap_or(i32::MAX))
        .bind(replica)
        .execute(&mut *tx)
        .await?;
        if res == Resolution::Minute {
            report.minute_rows = rows;
        } else {
            report.quarter_rows = rows;
        }
    }
    for (table, keep) in [
        ("container_samples", "24 hours".to_owned()),
        ("container_samples_1m", "7 days".to_owned()),
        ("container_samples_15m", "90 days".to_owned()),
        ("stats_rollup_runs", "7 days".to_owned()),
        (
            "container_transitions",
            format!("{} days", transitions_days.max(90)),
        ),
    ] {
        let col = if table == "stats_rollup_runs" {
            "ran_at"
        } else {
            "at"
        };
        report.expired_rows += sqlx::query(sqlx::AssertSqlSafe(format!(
            "delete from {table} where {col} < now() - interval '{keep}'"
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(report)
}

/// One aggregated row read back.
#[derive(sqlx::FromRow)]
struct Row {
    container_id: String,
    member: String,
    container: String,
    at: DateTime<Utc>,
    cpu_percent: f64,
    cpu_percent_max: f64,
    memory_bytes: f64,
    memory_bytes_max: i64,
    memory_limit_bytes: i64,
    net_rx_bytes_per_s: Option<f64>,
    net_tx_bytes_per_s: Option<f64>,
    block_read_bytes_per_s: f64,
    block_write_bytes_per_s: f64,
    pids: i32,
}

/// A container's identity and its samples.
pub type ContainerSeries = ((String, String, String), Vec<Sample>);

/// The samples of `service` in `[from, to)` from `resolution`'s table, averaged (and maxed) into
/// buckets of `step` seconds; per container (id, member, name), oldest first.
pub async fn samples(
    pool: &PgPool,
    service: &str,
    ids: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: i64,
    resolution: Resolution,
) -> Result<Vec<ContainerSeries>, sqlx::Error> {
    let (table, max_cpu, max_mem) = match resolution {
        Resolution::Raw => ("container_samples", "cpu_percent", "memory_bytes"),
        Resolution::Minute => (
            "container_samples_1m",
            "cpu_percent_max",
            "memory_bytes_max",
        ),
        Resolution::Quarter => (
            "container_samples_15m",
            "cpu_percent_max",
            "memory_bytes_max",
        ),
    };
    let sql = format!(
        "select container_id, max(member) as member, max(container) as container, \
         date_bin(make_interval(secs => $4), at, timestamptz 'epoch') as at, \
         avg(cpu_percent)::float8 as cpu_percent, max({max_cpu})::float8 as cpu_percent_max, \
         avg(memory_bytes)::float8 as memory_bytes, max({max_mem}) as memory_bytes_max, \
         max(memory_limit_bytes) as memory_limit_bytes, \
         avg(net_rx_bytes_per_s)::float8 as net_rx_bytes_per_s, \
         avg(net_tx_bytes_per_s)::float8 as net_tx_bytes_per_s, \
         avg(block_read_bytes_per_s)::float8 as block_read_bytes_per_s, \
         avg(block_write_bytes_per_s)::float8 as block_write_bytes_per_s, \
         max(pids) as pids \
         from {table} where (service = $1 or container_id = any($5)) and at >= $2 and at < $3 \
         group by container_id, 4 order by container_id, 4"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(service)
        .bind(from)
        .bind(to)
        .bind(step as f64)
        .bind(ids)
        .fetch_all(pool)
        .await?;
    let mut out: Vec<ContainerSeries> = Vec::new();
    for r in rows {
        let sample = Sample {
            at: r.at,
            cpu_percent: r.cpu_percent,
            cpu_percent_max: r.cpu_percent_max,
            memory_bytes: r.memory_bytes as i64,
            memory_bytes_max: r.memory_bytes_max,
            memory_limit_bytes: r.memory_limit_bytes,
            net_rx_bytes_per_s: r.net_rx_bytes_per_s,
            net_tx_bytes_per_s: r.net_tx_bytes_per_s,
            block_read_bytes_per_s: r.block_read_bytes_per_s,
            block_write_bytes_per_s: r.block_write_bytes_per_s,
            pids: i64::from(r.pids),
        };
        match out.last_mut() {
            Some(((id, ..), list)) if *id == r.container_id => list.push(sample),
            _ => out.push(((r.container_id, r.member, r.container), vec![sample])),
        }
    }
    Ok(out)
}

/// A transition to record, with who it belongs to.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    /// The engine's event time, nanoseconds.
    pub at_nanos: i64,
    /// The service.
    pub service: String,
    /// The transition.
    pub transition: Transition,
}

/// Records a transition once: `false` when it was already recorded (by another replica).
pub async fn insert_transition(pool: &PgPool, row: &TransitionRow) -> Result<bool, sqlx::Error> {
    let t = &row.transition;
    let r = sqlx::query(
        "insert into container_transitions (at, at_nanos, container_id, kind, to_value, \
         from_value, service, member, container, exit_code, oom_killed, probe_output) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, left($12, 4096)) \
         on conflict do nothing",
    )
    .bind(t.at)
    .bind(row.at_nanos)
    .bind(&t.container_id)
    .bind(t.kind.as_str())
    .bind(&t.to)
    .bind(&t.from)
    .bind(&row.service)
    .bind(&t.member)
    .bind(&t.container)
    .bind(t.exit_code)
    .bind(t.oom_killed)
    .bind(&t.probe_output)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct TRow {
    at: DateTime<Utc>,
    kind: String,
    container: String,
    container_id: String,
    member: String,
    from_value: Option<String>,
    to_value: String,
    exit_code: Option<i64>,
    oom_killed: bool,
    probe_output: Option<String>,
}

impl TryFrom<TRow> for Transition {
    type Error = sqlx::Error;
    fn try_from(r: TRow) -> Result<Self, sqlx::Error> {
        Ok(Transition {
            at: r.at,
            kind: r
                .kind
                .parse::<TransitionKind>()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            container: r.container,
            container_id: r.container_id,
            member: r.member,
            from: r.from_value,
            to: r.to_value,
            exit_code: r.exit_code,
            oom_killed: r.oom_killed,
            probe_output: r.probe_output,
        })
    }
}

const T_COLS: &str = "at, kind, container, container_id, member, from_value, to_value, exit_code, \
                      oom_killed, probe_output";

/// The newest `limit` transitions of `service` in `[from, to]`, oldest first, and whether there
/// were more.
pub async fn transitions(
    pool: &PgPool,
    service: &str,
    ids: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<(Vec<Transition>, bool), sqlx::Error> {
    let rows: Vec<TRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {T_COLS} from container_transitions where (service = $1 or container_id = any($5)) \
         and at >= $2 and at <= $3 order by at desc, at_nanos desc limit $4"
    )))
    .bind(service)
    .bind(from)
    .bind(to)
    .bind(limit + 1)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let mut out = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(Transition::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok((out, more))
}

/// What the uptime of `service` since `since` needs: every transition after it and, per
/// container and kind, the last one before it (where each stood when the window opened).
pub async fn transitions_since(
    pool: &PgPool,
    service: &str,
    ids: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<Transition>, sqlx::Error> {
    let rows: Vec<TRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "(select distinct on (container_id, kind) {T_COLS} from container_transitions \
           where (service = $1 or container_id = any($3)) and at < $2 \
           order by container_id, kind, at desc, at_nanos desc) \
         union all \
         (select {T_COLS} from container_transitions \
           where (service = $1 or container_id = any($3)) and at >= $2) \
         order by at"
    )))
    .bind(service)
    .bind(since)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Transition::try_from).collect()
}

/// The latest failure of `service`: an exit with a non-zero code, an OOM kill or an unhealthy
/// verdict.
pub async fn last_failure(
    pool: &PgPool,
    service: &str,
    ids: &[String],
) -> Result<Option<Transition>, sqlx::Error> {
    let row: Option<TRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {T_COLS} from container_transitions where (service = $1 or container_id = any($2)) and \
         ((kind = 'state' and (coalesce(exit_code, 0) <> 0 or oom_killed)) or \
          (kind = 'health' and to_value = 'unhealthy')) \
         order by at desc, at_nanos desc limit 1"
    )))
    .bind(service)
    .bind(ids)
    .fetch_optional(pool)
    .await?;
    row.map(Transition::try_from).transpose()
}

/// The size on disk (bytes, indexes included) and estimated rows of each observability table.
pub async fn table_sizes(pool: &PgPool) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select c.relname::text, pg_total_relation_size(c.oid), greatest(c.reltuples, 0)::bigint \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = current_schema() and c.relkind = 'r' and c.relname in \
         ('container_samples', 'container_samples_1m', 'container_samples_15m', \
          'container_transitions') order by 1",
    )
    .fetch_all(pool)
    .await
}
