-- App template catalogs (issue 13, "App templates"): the URLs an administrator added, in order.
-- The bundled example catalog is part of the binary and not stored.
create table template_sources (
    position integer primary key check (position >= 0),
    url text not null unique check (url ~ '^https?://' and length(url) <= 2048),
    added_at timestamptz not null default now()
);
