-- Cross-replica invalidation of the in-memory caches (docs/ARCHITECTURE.md, "Hot paths from
-- memory"). Every replica LISTENs on two channels; these triggers NOTIFY them, so a change made
-- by any replica, the CLI or by hand reaches every cache when its transaction commits.
--
-- `sdmd_auth`: `session:<id>`, `token:<id>`, `user:<id>` or `all`. Sent on what ends or changes
-- a credential: a session revoked, re-dated or removed (sign-out, reuse of a refresh token,
-- password change, user removal through the cascade), an API token revoked, re-dated or deleted,
-- a user's email or password changed or the user removed, the signing key replaced.
create function sdmd_notify_auth() returns trigger language plpgsql as $$
begin
    if tg_level = 'STATEMENT' then
        perform pg_notify('sdmd_auth', 'all');
    elsif tg_table_name = 'auth_sessions' then
        perform pg_notify('sdmd_auth', 'session:' || old.id::text);
    elsif tg_table_name = 'api_tokens' then
        perform pg_notify('sdmd_auth', 'token:' || old.id::text);
    elsif tg_table_name = 'users' then
        perform pg_notify('sdmd_auth', 'user:' || old.id::text);
    else
        perform pg_notify('sdmd_auth', 'all');
    end if;
    return null;
end
$$;

create trigger auth_sessions_notify after update of revoked_at, created_at, user_id or delete
    on auth_sessions for each row execute function sdmd_notify_auth();
create trigger api_tokens_notify after update of revoked_at, expires_at, secret_hash, name or delete
    on api_tokens for each row execute function sdmd_notify_auth();
create trigger users_notify after update of email, password_hash, id or delete
    on users for each row execute function sdmd_notify_auth();
create trigger signing_keys_notify after update or delete or truncate
    on signing_keys for each statement execute function sdmd_notify_auth();
create trigger auth_sessions_truncate_notify after truncate
    on auth_sessions for each statement execute function sdmd_notify_auth();
create trigger api_tokens_truncate_notify after truncate
    on api_tokens for each statement execute function sdmd_notify_auth();
create trigger users_truncate_notify after truncate
    on users for each statement execute function sdmd_notify_auth();

-- `sdmd_definitions`: any change to what the services list shows besides live container state
-- (stored definitions and revisions, their files, schedules, update history, registry checks).
create function sdmd_notify_definitions() returns trigger language plpgsql as $$
begin
    perform pg_notify('sdmd_definitions', '');
    return null;
end
$$;

create trigger services_notify after insert or update or delete or truncate
    on services for each statement execute function sdmd_notify_definitions();
create trigger service_revisions_notify after insert or update or delete or truncate
    on service_revisions for each statement execute function sdmd_notify_definitions();
create trigger service_files_notify after insert or update or delete or truncate
    on service_files for each statement execute function sdmd_notify_definitions();
create trigger schedules_notify after insert or update or delete or truncate
    on schedules for each statement execute function sdmd_notify_definitions();
create trigger update_runs_notify after insert or update or delete or truncate
    on update_runs for each statement execute function sdmd_notify_definitions();
create trigger image_checks_notify after insert or update or delete or truncate
    on image_checks for each statement execute function sdmd_notify_definitions();
