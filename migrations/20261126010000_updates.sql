-- Update checks and runs: the history behind GET /api/v1/services/{name}/updates, and the latest
-- check per image behind `update_available` in the services list.
create table update_runs (
    id bigserial primary key,
    service text not null,
    kind text not null check (kind in ('check', 'update')),
    trigger text not null check (trigger in ('manual', 'schedule')),
    actor text not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    result text,
    steps jsonb not null default '[]',
    images jsonb not null default '[]',
    reason text,
    log_excerpt text
);
create index update_runs_service_idx on update_runs (service, id desc);

create table image_checks (
    service text not null,
    image text not null,
    checked_at timestamptz not null default now(),
    local_digest text,
    remote_digest text,
    update_available boolean not null,
    error text,
    primary key (service, image)
);
