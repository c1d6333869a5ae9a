-- Per-service update schedules, and the claim rows that make each due run happen exactly once
-- across replicas.
create table schedules (
    service text primary key references services (name) on delete cascade on update cascade,
    enabled boolean not null,
    frequency text not null check (frequency in ('daily', 'weekly')),
    weekday text check (weekday in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')),
    time_of_day text not null,
    timezone text not null,
    mode text not null check (mode in ('update', 'check')),
    jitter_seconds integer not null default 0 check (jitter_seconds between 0 and 3600),
    updated_at timestamptz not null default now()
);

create table schedule_claims (
    service text not null,
    due_at timestamptz not null,
    claimed_by text not null,
    claimed_at timestamptz not null default now(),
    primary key (service, due_at)
);
