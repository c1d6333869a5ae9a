#!/usr/bin/env bash
# End-to-end test of the dashboard in Debian's Chromium (driven by playwright-core) against a
# real sdmd with real Docker and PostgreSQL. Screenshots land in frontend/screenshots/.
#
# By default it starts its own sdmd (SDMD_BIN, default target/debug/sdmd; built when missing)
# with TLS off, a temporary data dir (embedded PostgreSQL), a first-run administrator and
# SDMD_UI_DIR=frontend/out, plus a second fresh sdmd without administrator variables for the
# setup-code flow (frontend/e2e/setup.mjs). Every run checks the served CSP against the export's
# inline scripts (frontend/e2e/csp.mjs) and fails on CSP violations in the browser console. To test a server that is already running, set SDMD_E2E_URL,
# SDMD_E2E_EMAIL and SDMD_E2E_PASSWORD. If the server does not serve the dashboard itself,
# frontend/e2e/serve.mjs serves it on one origin in front of the API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export NEXT_TELEMETRY_DISABLED=1
port=${SDMD_E2E_PORT:-18500}
proxy_port=${SDMD_E2E_PROXY_PORT:-18600}
image=127.0.0.1:5000/sdmd-e2e/busybox:1
pids=()
tmp=$(mktemp -d /tmp/sdmd-e2e.XXXXXX)
chmod 755 "$tmp"   # the embedded PostgreSQL runs as the postgres user and must traverse it
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Docker, the local registry and the busybox base image (the lead's test environment).
bash scripts/test-env.sh
/usr/bin/docker tag local/busybox:1 "$image"
/usr/bin/docker push -q "$image" >/dev/null

if [ ! -x "${CHROMIUM:=/usr/bin/chromium}" ]; then
  if [ "$(id -u)" != 0 ]; then echo "chromium is missing (run as root to install it)" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM

# The dashboard: reuse a build unless asked to rebuild.
if [ ! -f frontend/out/index.html ] || [ "${SDMD_E2E_REBUILD:-0}" = 1 ]; then
  bash scripts/frontend.sh build
elif [ ! -d frontend/node_modules ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -z "${SDMD_E2E_URL:-}" ]; then
  bin=${SDMD_BIN:-target/debug/sdmd}
  [ -x "$bin" ] || cargo build -p sdmd
  export SDMD_E2E_EMAIL=${SDMD_E2E_EMAIL:-admin@example.com}
  export SDMD_E2E_PASSWORD=${SDMD_E2E_PASSWORD:-e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  # Samples every second, so the observability flow (frontend/e2e/observe.mjs) has figures soon.
  SDMD_TLS=off SDMD_LISTEN=127.0.0.1:$port SDMD_DATA_DIR=$tmp/data SDMD_UI_DIR=$root/frontend/out \
    SDMD_ADMIN_EMAIL=$SDMD_E2E_EMAIL SDMD_ADMIN_PASSWORD=$SDMD_E2E_PASSWORD SDMD_STATS_INTERVAL=1 \
    "$bin" serve >"$tmp/sdmd.log" 2>&1 &
  pids+=($!)
  # First run without env vars: a second sdmd on a fresh data dir (its own embedded PostgreSQL)
  # and no administrator variables; it prints a setup code (frontend/e2e/setup.mjs).
  setup_port=${SDMD_E2E_SETUP_PORT:-18502}
  env -u DATABASE_URL -u SDMD_ADMIN_EMAIL -u SDMD_ADMIN_PASSWORD -u SDMD_ADMIN_PASSWORD_FILE \
    SDMD_TLS=off SDMD_LISTEN=127.0.0.1:$setup_port SDMD_DATA_DIR=$tmp/setup-data SDMD_UI_DIR=$root/frontend/out \
    "$bin" serve >"$tmp/setup.log" 2>&1 &
  pids+=($!)
  setup_backend=http://127.0.0.1:$setup_port
  backend=http://127.0.0.1:$port
  for _ in $(seq 1 600); do curl -fsS "$backend/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$backend/healthz" >/dev/null || { echo "sdmd did not start:" >&2; tail -30 "$tmp/sdmd.log" >&2; exit 1; }
else
  backend=${SDMD_E2E_URL%/}
  : "${SDMD_E2E_PASSWORD:?set SDMD_E2E_PASSWORD for SDMD_E2E_URL}"
fi

# Same origin: does the server hand out the dashboard itself?
if curl -fsS "$backend/login/" 2>/dev/null | grep -q '<html'; then
  export SDMD_E2E_URL=$backend
else
  echo "note: $backend does not serve the dashboard; serving frontend/out in front of it"
  node frontend/e2e/serve.mjs --port "$proxy_port" --backend "$backend" --dir frontend/out >"$tmp/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$proxy_port/" >/dev/null 2>&1 && break; sleep 0.1; done
  export SDMD_E2E_URL=http://127.0.0.1:$proxy_port
fi

fail() {
  [ -f "$tmp/sdmd.log" ] && { echo "--- sdmd log (tail)"; tail -40 "$tmp/sdmd.log"; }
  exit 1
}
# Every exported page as served: script-src without 'unsafe-inline', each inline script hashed.
node frontend/e2e/csp.mjs frontend/out || fail
SDMD_E2E_IMAGE=$image node frontend/e2e/flow.mjs || fail
node frontend/e2e/templates.mjs || fail
# Metrics, history, host overview: when the server has the stats routes.
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$SDMD_E2E_URL/api/v1/stats")" = 404 ]; then
  echo "skipping the observability flow: $SDMD_E2E_URL has no /api/v1/stats"
else
  SDMD_E2E_IMAGE=$image node frontend/e2e/observe.mjs || fail
fi
if [ -n "${SDMD_E2E_STACKS:-}" ] || [ -d "$tmp/data/stacks" ]; then
  SDMD_E2E_IMAGE=$image SDMD_E2E_STACKS=${SDMD_E2E_STACKS:-$tmp/data/stacks} node frontend/e2e/permissions.mjs || fail
else
  echo "skipping the file-permissions flow: SDMD_E2E_URL names a server whose stacks directory is not given (SDMD_E2E_STACKS)"
fi

if [ -n "${setup_backend:-}" ]; then
  for _ in $(seq 1 600); do curl -fsS "$setup_backend/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  SDMD_E2E_SETUP_URL=$setup_backend SDMD_E2E_SETUP_LOG=$tmp/setup.log node frontend/e2e/setup.mjs || {
    echo "--- first-run sdmd log (tail)"; tail -40 "$tmp/setup.log"; exit 1
  }
else
  echo "skipping the setup-code flow: SDMD_E2E_URL names a server that has an administrator already"
fi

# Plugin pages, when the server has the plugin routes and a component to upload exists.
plugin=${SDMD_E2E_PLUGIN:-plugins/dist/http-health.wasm}
status=$(curl -s -o /dev/null -w '%{http_code}' "$SDMD_E2E_URL/api/v1/plugins")
if [ "$status" = 404 ]; then
  echo "skipping the plugin pages: $SDMD_E2E_URL has no /api/v1/plugins"
elif [ ! -f "$plugin" ]; then
  echo "skipping the plugin pages: no component at $plugin (build plugins/ or set SDMD_E2E_PLUGIN)"
else
  SDMD_E2E_PLUGIN=$plugin node frontend/e2e/plugins.mjs || fail
  # A notifier too: its page has the delivery options.
  notifier=plugins/dist/webhook-notify.wasm
  if [ -z "${SDMD_E2E_PLUGIN:-}" ]; then
    SDMD_E2E_PLUGIN=$notifier node frontend/e2e/plugins.mjs || fail
  fi
fi
