-- Per-registry credentials; the password is sealed with SDMD_SECRET_KEY (never stored in clear).
create table registry_credentials (
    host text primary key,
    username text not null,
    secret bytea not null,
    updated_at timestamptz not null default now()
);
