-- Compose fidelity: a revision keeps the document as written (with its `${VAR}` text) beside the
-- validated definition, and the files of its project directory (.env, env files, secrets, small
-- configs). Sealed files hold ChaCha20-Poly1305 ciphertext under SDMD_SECRET_KEY.
alter table service_revisions add column source jsonb;

create table service_files (
    service_id uuid not null,
    revision integer not null,
    path text not null,
    sealed boolean not null,
    content bytea not null,
    primary key (service_id, revision, path),
    foreign key (service_id, revision) references service_revisions (service_id, revision) on delete cascade
);

-- A compose project adopted from its own files keeps its working directory as the service's
-- project directory (its relative paths keep pointing there); null = <stacks>/<service>.
alter table services add column project_dir text;

-- Volumes the adopted containers mounted: someone else's data, never removed by SDMD (even an
-- anonymous one that a deploy carried over to SDMD's own container).
alter table services add column foreign_volumes text[] not null default '{}';
