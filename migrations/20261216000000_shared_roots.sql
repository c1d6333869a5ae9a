-- Shared roots (issue 13, "Standard folders"): folders several apps use (media, downloads),
-- named once in settings and referenced in definitions as ${NAME}.
create table shared_roots (
    name text primary key check (name ~ '^[A-Za-z_][A-Za-z0-9_]*$' and length(name) <= 128),
    path text not null check (path like '/%' and length(path) <= 4096),
    updated_at timestamptz not null default now()
);
