-- Service definitions: one row per service, every edit a new revision.
create table services (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    revision integer not null default 1,
    -- Container ids of an unmanaged service this one was adopted from; replaced on first deploy.
    adopted_from text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint services_name_key unique (name)
);

create table service_revisions (
    service_id uuid not null references services (id) on delete cascade,
    revision integer not null,
    definition jsonb not null,
    created_by text not null,
    created_at timestamptz not null default now(),
    primary key (service_id, revision)
);

-- The audit log is append-only: the trigger refuses UPDATE, DELETE and TRUNCATE for everybody
-- (pruning past the retention window is an explicit, separate maintenance path).
create table audit_log (
    id bigserial primary key,
    at timestamptz not null default now(),
    actor text not null,
    action text not null,
    target text,
    result text not null,
    request_id text,
    client_ip text,
    details jsonb
);
create index audit_log_at_idx on audit_log (at);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' and coalesce(current_setting('sdmd.audit_prune', true), '') = 'on' then
        if old.at < now() - interval '90 days' then
            return old;
        end if;
    end if;
    raise exception 'audit_log is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();
