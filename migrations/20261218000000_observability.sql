-- Observability (issue 14): resource samples of containers at three resolutions, the rollup
-- job's watermark and its runs, and every state/health transition of every container.

-- One row per container per sampling round, kept 24 h. The round's instant is aligned to the
-- sampling interval, so two replicas sampling the same round write one row (the key).
create table container_samples (
    at timestamptz not null,
    container_id text not null,
    service text not null,
    member text not null,
    container text not null,
    cpu_percent real not null,
    memory_bytes bigint not null,
    memory_limit_bytes bigint not null,
    net_rx_bytes_per_s real,
    net_tx_bytes_per_s real,
    block_read_bytes_per_s real not null,
    block_write_bytes_per_s real not null,
    pids integer not null,
    primary key (container_id, at)
);
create index container_samples_service_at on container_samples (service, at);
create index container_samples_at on container_samples (at);

-- Averages (and maxima) per minute, kept 7 days; per 15 minutes, kept 90 days.
create table container_samples_1m (
    at timestamptz not null,
    container_id text not null,
    service text not null,
    member text not null,
    container text not null,
    cpu_percent real not null,
    cpu_percent_max real not null,
    memory_bytes bigint not null,
    memory_bytes_max bigint not null,
    memory_limit_bytes bigint not null,
    net_rx_bytes_per_s real,
    net_tx_bytes_per_s real,
    block_read_bytes_per_s real not null,
    block_write_bytes_per_s real not null,
    pids integer not null,
    samples integer not null,
    primary key (container_id, at)
);
create index container_samples_1m_service_at on container_samples_1m (service, at);
create index container_samples_1m_at on container_samples_1m (at);

create table container_samples_15m (like container_samples_1m including all);

-- How far each rollup has gone (rows before `done_until` are final), and one row per run that
-- did work: the job runs under an advisory lock, so a window is rolled up once across replicas.
create table stats_rollups (
    resolution text primary key check (resolution in ('1m', '15m')),
    done_until timestamptz not null
);
create table stats_rollup_runs (
    resolution text not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    rows_written integer not null,
    replica text not null,
    ran_at timestamptz not null default now(),
    primary key (resolution, window_end)
);

-- Every state or health transition, keyed by the engine's event time: two replicas watching the
-- same engine see the same events and record each once.
create table container_transitions (
    at timestamptz not null,
    at_nanos bigint not null,
    container_id text not null,
    kind text not null check (kind in ('state', 'health')),
    to_value text not null,
    from_value text,
    service text not null,
    member text not null,
    container text not null,
    exit_code bigint,
    oom_killed boolean not null default false,
    probe_output text check (length(probe_output) <= 4096),
    primary key (container_id, kind, at_nanos, to_value)
);
create index container_transitions_service_at on container_transitions (service, at);
create index container_transitions_at on container_transitions (at);
