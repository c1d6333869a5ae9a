#!/usr/bin/env bash
# Runs the official @supabase/supabase-js client (tests/supabase-js) against a real sdmd:
# builds sdmd, starts it on a free port with a temporary data dir (its embedded PostgreSQL, or
# DATABASE_URL's server with a fresh database when DATABASE_URL is set), default TLS (self-signed,
# trusted through NODE_EXTRA_CA_CERTS), creates the first administrator, then `npm ci` + the test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

for tool in node npm curl; do
  command -v "$tool" >/dev/null || { echo "supabase-js test: $tool is missing (Node 20+ with npm, curl)" >&2; exit 1; }
done

cargo build -q -p sdmd
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/sdmd

WORK=$(mktemp -d /tmp/sdmd-supabase-js.XXXXXX)
chmod 755 "$WORK"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
EMAIL=admin@example.com
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

SERVER_PID=
ADMIN_URL=${DATABASE_URL:-}
DB=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
  fi
  if [ -n "$DB" ]; then psql "$ADMIN_URL" -qc "drop database if exists $DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${DATABASE_URL:-}" ]; then
  DB="sdmd_js_$(date +%s)_$$"
  command -v psql >/dev/null || { echo "supabase-js test: psql is missing (postgresql-client)" >&2; exit 1; }
  psql "$DATABASE_URL" -qc "create database $DB" >/dev/null
  DB_ENV=(DATABASE_URL="${DATABASE_URL%/*}/$DB")
else
  DB_ENV=(SDMD_EMBEDDED=1)
  unset DATABASE_URL
fi

env -u SDMD_TLS "${DB_ENV[@]}" SDMD_DATA_DIR="$WORK/data" SDMD_LISTEN="127.0.0.1:$PORT" \
  SDMD_ADMIN_EMAIL="$EMAIL" SDMD_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

CERT="$WORK/data/tls/cert.pem"
for _ in $(seq 1 300); do
  if [ -f "$CERT" ] && curl -fsS --cacert "$CERT" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "sdmd exited:"; cat "$WORK/server.log"; exit 1; fi
  sleep 0.2
done
curl -fsS --cacert "$CERT" "https://127.0.0.1:$PORT/healthz" >/dev/null || { echo "sdmd did not answer:"; cat "$WORK/server.log"; exit 1; }

cd tests/supabase-js
npm ci --no-audit --no-fund --silent
SDMD_URL="https://127.0.0.1:$PORT" SDMD_TEST_EMAIL="$EMAIL" SDMD_TEST_PASSWORD="$PASSWORD" \
  NODE_EXTRA_CA_CERTS="$CERT" node --experimental-websocket test.mjs
