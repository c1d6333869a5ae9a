-- Built-in auth: users, sessions with single-use rotating refresh tokens, the token signing key,
-- API tokens and login throttling. Plus the audit log's hash chain.

create table users (
    id uuid primary key default gen_random_uuid(),
    email text not null,
    password_hash text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    last_sign_in_at timestamptz
);
create unique index users_email_key on users (lower(email));

-- One row per sign-in; revoking it invalidates its access tokens (checked on every request) and
-- its refresh tokens.
create table auth_sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    refreshed_at timestamptz,
    revoked_at timestamptz,
    user_agent text,
    ip text
);
create index auth_sessions_user_idx on auth_sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes; `used_at` marks the single use.
create table refresh_tokens (
    id bigserial primary key,
    session_id uuid not null references auth_sessions (id) on delete cascade,
    token_hash text not null,
    created_at timestamptz not null default now(),
    used_at timestamptz,
    constraint refresh_tokens_hash_key unique (token_hash)
);

-- The ES256 key that signs built-in access tokens: generated once, shared by every replica.
create table signing_keys (
    kid text primary key,
    algorithm text not null,
    private_pem text not null,
    public_x text not null,
    public_y text not null,
    created_at timestamptz not null default now()
);

create table api_tokens (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    prefix text not null,
    secret_hash text not null,
    created_by text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    constraint api_tokens_secret_hash_key unique (secret_hash)
);
create unique index api_tokens_name_key on api_tokens (name) where revoked_at is null;

-- Failed sign-ins, per client address and per account (`ip:…`, `account:…`), shared by replicas.
create table login_failures (
    key text not null,
    at timestamptz not null default now()
);
create index login_failures_key_at_idx on login_failures (key, at);

-- The audit hash chain: hash = sha256(prev_hash || canonical row), computed by the writer while
-- holding the lock on the single chain head row (which serializes concurrent writers).
alter table audit_log add column prev_hash bytea, add column hash bytea;

create table audit_chain_head (
    id integer primary key check (id = 1),
    last_id bigint,
    last_hash bytea not null
);
insert into audit_chain_head (id, last_id, last_hash) values (1, null, '\x0000000000000000000000000000000000000000000000000000000000000000');
