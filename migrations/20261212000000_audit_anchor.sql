-- Issue 11 item 10 (audit anchoring), docs/security.md.
--
-- * Every row is appended through the trigger below: it takes the id and the time itself (client
--   values are overridden), requires `prev_hash` to be the chain head's hash and moves the head.
--   The head is changed only by SECURITY DEFINER functions: the application role can read it but
--   has no INSERT/UPDATE/DELETE on it, and no UPDATE on the id sequence.
-- * Links from `hmac_from` on are HMAC-SHA256 under a key derived from SDMD_SECRET_KEY, which the
--   database never sees; rows below it (written before this migration) keep their plain SHA-256
--   links and are verified as legacy rows.
-- * Where the chain starts is recorded: `start_id`/`start_prev` (moved only by `sdmd audit
--   prune`, which also writes an audited row naming the new start), and the rows written before
--   the chain existed (no hash at all) are counted, so a row slipped in below the chain's start
--   is reported instead of skipped.

alter table audit_chain_head
    add column hmac_from bigint,
    add column start_id bigint,
    add column start_prev bytea,
    add column unhashed_max_id bigint,
    add column unhashed_rows bigint not null default 0,
    add column pending_id bigint;

do $$
declare
    seq text := pg_get_serial_sequence('audit_log', 'id');
    top bigint;
    first_chained bigint;
begin
    -- The sequence never hands out an id at or below an existing row (rows inserted with an
    -- explicit id before this migration did not move it).
    execute format('select case when is_called then last_value else last_value - 1 end from %s', seq)
        into top;
    top := greatest(top, coalesce((select max(id) from audit_log), 0));
    if top > 0 then
        perform setval(seq, top, true);
    end if;
    select min(id) into first_chained from audit_log where hash is not null;
    update audit_chain_head set
        hmac_from = top + 1,
        start_id = first_chained,
        start_prev = (select prev_hash from audit_log where id = first_chained),
        unhashed_max_id = (select max(id) from audit_log
                           where hash is null and (first_chained is null or id < first_chained)),
        unhashed_rows = (select count(*) from audit_log
                         where hash is null and (first_chained is null or id < first_chained))
    where id = 1;
end
$$;

alter table audit_chain_head alter column hmac_from set not null;

-- Locks the head until the caller's transaction ends and hands out the next row's id, time and
-- previous hash, so the writer can compute the link before inserting.
create function audit_reserve(out id bigint, out at timestamptz, out prev_hash bytea)
language plpgsql security definer as $$
declare
    h audit_chain_head%rowtype;
begin
    select * into h from audit_chain_head where audit_chain_head.id = 1 for update;
    id := greatest(nextval(pg_get_serial_sequence('audit_log', 'id')), coalesce(h.last_id, 0) + 1);
    update audit_chain_head set pending_id = audit_reserve.id where audit_chain_head.id = 1;
    at := now();
    prev_hash := h.last_hash;
end
$$;

create function audit_log_append() returns trigger
language plpgsql security definer as $$
declare
    h audit_chain_head%rowtype;
begin
    select * into h from audit_chain_head where id = 1 for update;
    if h.pending_id is not null and h.pending_id > coalesce(h.last_id, h.pending_id - 1) then
        new.id := h.pending_id;
    else
        new.id := greatest(nextval(pg_get_serial_sequence('audit_log', 'id')), coalesce(h.last_id, 0) + 1);
    end if;
    new.at := now();
    if new.hash is null or length(new.hash) <> 32 then
        raise exception 'audit_log rows need a 32-byte hash' using errcode = 'check_violation';
    end if;
    if new.prev_hash is distinct from h.last_hash then
        raise exception 'audit_log row must extend the chain head (prev_hash is not the head''s hash)'
            using errcode = 'check_violation';
    end if;
    -- The first row ever written is where the chain starts (until `sdmd audit prune` moves it).
    update audit_chain_head set last_id = new.id, last_hash = new.hash, pending_id = null,
        start_id = coalesce(h.start_id, new.id),
        start_prev = case when h.start_id is null then new.prev_hash else h.start_prev end
        where id = 1;
    perform pg_notify('sdmd_audit', new.id::text);
    return new;
end
$$;

create trigger audit_log_append before insert on audit_log
    for each row execute function audit_log_append();

-- SECURITY DEFINER functions resolve names in this schema only, with pg_temp last (a caller's
-- temporary table must not stand in for the head).
do $$
begin
    execute format('alter function audit_reserve() set search_path = %I, pg_temp', current_schema());
    execute format('alter function audit_log_append() set search_path = %I, pg_temp', current_schema());
end
$$;
revoke all on function audit_reserve() from public;
revoke all on function audit_log_append() from public;

-- When the application role exists already (an upgrade), take away what it no longer needs;
-- `ensure_app_role` does the same at every start.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'sdmd_app') then
        revoke insert, update, delete, truncate on audit_chain_head from sdmd_app;
        execute format('revoke update on sequence %s from sdmd_app',
                       pg_get_serial_sequence('audit_log', 'id'));
        grant execute on function audit_reserve() to sdmd_app;
    end if;
end
$$;
