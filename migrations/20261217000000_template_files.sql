-- App template catalogs uploaded as files (issue 13, "App templates"): stored as sent, read like
-- a catalog URL's answer.
create table template_files (
    name text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    content bytea not null check (octet_length(content) <= 2097152),
    added_at timestamptz not null default now()
);
