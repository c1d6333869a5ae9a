-- Delivery options of notifier plugins (cooldown and batching, see docs/updates.md), and the last
-- delivery per (plugin, service, kind) so that a cooldown holds across replicas.
alter table plugins add column delivery jsonb not null default '{}';

create table notification_cooldowns (
    plugin_id text not null references plugins (id) on delete cascade,
    service text not null,
    kind text not null,
    last_at timestamptz not null,
    primary key (plugin_id, service, kind)
);
