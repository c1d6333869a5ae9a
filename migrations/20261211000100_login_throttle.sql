-- Issue 11 (lockout and pool starvation): one row per throttling key instead of one row per
-- failure. `account:<email>` rows count a run of failures and hold the time before which the next
-- attempt is not checked (growing delays: the owner still signs in once the delay is over);
-- `ip:<address>` rows count failures in a fixed window (the only hard block). Each request locks
-- its rows (address first, then account) inside one short transaction, so concurrent attempts
-- are counted exactly (docs/auth.md).
drop table login_failures;

create table login_throttle (
    key text primary key,
    failures integer not null default 0,
    window_start timestamptz not null default now(),
    last_failure_at timestamptz,
    next_at timestamptz not null default now()
);
create index login_throttle_last_failure_idx on login_throttle (last_failure_at);
