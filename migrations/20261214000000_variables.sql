-- SDMD's global variables (issue 13, "Standard variables"): usable as `${NAME}` in every
-- definition, after the service's `.env`. A secret one is sealed with SDMD_SECRET_KEY (bound to
-- its name) and never stored in clear; a plain one is stored as text.
create table variables (
    name text primary key check (name ~ '^[A-Za-z_][A-Za-z0-9_]*$' and length(name) <= 128),
    value text,
    sealed bytea,
    updated_at timestamptz not null default now(),
    check ((value is null) <> (sealed is null))
);
