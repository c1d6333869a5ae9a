// The official @supabase/supabase-js client against a running sdmd in built-in auth mode.
// Env: SDMD_URL (https://127.0.0.1:PORT), SDMD_TEST_EMAIL, SDMD_TEST_PASSWORD; trust the
// server's self-signed certificate with NODE_EXTRA_CA_CERTS=<data dir>/tls/cert.pem.
import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';

const url = process.env.SDMD_URL;
const email = process.env.SDMD_TEST_EMAIL;
const password = process.env.SDMD_TEST_PASSWORD;
assert.ok(url && email && password, 'set SDMD_URL, SDMD_TEST_EMAIL and SDMD_TEST_PASSWORD');

const step = (name) => console.log(`ok - ${name}`);

// The dashboard reads its runtime settings first.
const cfg = await (await fetch(`${url}/config.json`)).json();
assert.equal(cfg.auth_mode, 'builtin');
assert.ok(cfg.anon_key);
step('config.json');

const supabase = createClient(cfg.supabase_url ?? url, cfg.anon_key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});

// Wrong password: the error code supabase-js exposes.
{
  const { data, error } = await supabase.auth.signInWithPassword({ email, password: 'definitely-wrong' });
  assert.ok(error, 'a wrong password must fail');
  assert.equal(error.code, 'invalid_credentials');
  assert.equal(error.status, 400);
  assert.equal(data.session, null);
  step('wrong password → invalid_credentials');
}

// Sign in.
const { data: signIn, error: signInError } = await supabase.auth.signInWithPassword({ email, password });
assert.equal(signInError, null, `sign-in failed: ${signInError?.message}`);
const first = signIn.session;
assert.ok(first.access_token && first.refresh_token);
assert.equal(first.token_type, 'bearer');
assert.equal(signIn.user.email, email);
step('sign in');

// Get the user (a request to /auth/v1/user with the access token).
{
  const { data, error } = await supabase.auth.getUser();
  assert.equal(error, null, error?.message);
  assert.equal(data.user.email, email);
  assert.equal(data.user.id, signIn.user.id);
  step('get user');
}

// The access token opens the API.
const api = (token) => fetch(`${url}/api/v1/tokens`, { headers: { Authorization: `Bearer ${token}` } });
assert.equal((await api(first.access_token)).status, 200);
step('access token opens the API');

// Refresh: a new pair; the old refresh token is spent.
const { data: refreshed, error: refreshError } = await supabase.auth.refreshSession();
assert.equal(refreshError, null, refreshError?.message);
const second = refreshed.session;
assert.notEqual(second.refresh_token, first.refresh_token);
assert.equal(refreshed.user.email, email);
assert.equal((await api(second.access_token)).status, 200);
step('refresh');

// Sign out: 204, and the session is gone server-side.
{
  const { error } = await supabase.auth.signOut();
  assert.equal(error, null, error?.message);
  const { data } = await supabase.auth.getSession();
  assert.equal(data.session, null);
  assert.equal((await api(second.access_token)).status, 401);
  step('sign out');
}

// Refreshing after sign-out fails.
{
  const other = createClient(url, cfg.anon_key, { auth: { persistSession: false, autoRefreshToken: false } });
  const { data, error } = await other.auth.refreshSession({ refresh_token: second.refresh_token });
  assert.ok(error, 'refresh after sign-out must fail');
  assert.equal(error.code, 'refresh_token_not_found');
  assert.equal(data.session, null);
  step('refresh after sign-out fails');
}

console.log('supabase-js: all checks passed');
