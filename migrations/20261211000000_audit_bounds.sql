-- Issue 11 (audit flooding): the client's own x-request-id is kept apart from the id the server
-- makes, and repeated events (throttled sign-ins) are counted in open windows instead of one
-- audit row each. A window writes one chained audit row when it opens and one, with the count,
-- when it closes (docs/security.md); the rows of the chain are never rewritten.
alter table audit_log add column client_request_id text;

create table audit_windows (
    key text primary key,
    actor text not null,
    action text not null,
    target text,
    result text not null,
    details jsonb not null,
    opened_at timestamptz not null default now(),
    closes_at timestamptz not null,
    last_at timestamptz not null default now(),
    attempts bigint not null default 1,
    last_client_ip text,
    opened_id bigint
);
create index audit_windows_closes_at_idx on audit_windows (closes_at);
