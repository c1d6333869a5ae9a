-- The plugin store: every uploaded artefact (bytes + manifest) is kept as a version; a plugin points
-- at its current version and carries the admin's grants, settings, limits and enabled flag, so all
-- replicas share them. Compiled code is cached per replica on disk, never here.
create table plugins (
    id text primary key,
    current_sha256 text not null,
    grants jsonb not null default '{}',
    config jsonb not null default '{}',
    limits jsonb not null default '{}',
    enabled boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint plugins_id_format check (id ~ '^[a-z0-9-]{1,64}$')
);

create table plugin_versions (
    plugin_id text not null references plugins (id) on delete cascade,
    sha256 text not null,
    version text not null,
    manifest jsonb not null,
    -- What validation found (WIT version, imports, exports), so reading it needs no compile.
    inspection jsonb not null,
    wasm bytea not null,
    size integer not null,
    uploaded_by text not null,
    uploaded_at timestamptz not null default now(),
    primary key (plugin_id, sha256)
);

alter table plugins add constraint plugins_current_fkey
    foreign key (id, current_sha256) references plugin_versions (plugin_id, sha256)
    deferrable initially deferred;

-- Which plugins a service uses: at most one strategy, any number of health checks and notifiers, in
-- order. `on delete restrict` backs the API's 409 when deleting a plugin in use.
create table service_plugins (
    service_id uuid not null references services (id) on delete cascade,
    role text not null,
    plugin_id text not null references plugins (id) on delete restrict,
    position integer not null default 0,
    primary key (service_id, role, plugin_id),
    constraint service_plugins_role check (role in ('strategy', 'health_check', 'notifier'))
);
create unique index service_plugins_one_strategy on service_plugins (service_id) where role = 'strategy';

-- Notifiers told about every service.
create table global_notifiers (
    plugin_id text primary key references plugins (id) on delete restrict,
    position integer not null default 0
);
