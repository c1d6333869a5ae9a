#!/usr/bin/env bash
# Builds and checks the dashboard (frontend/): installs Node when missing (root only), then
# `npm ci`, the API client's types from the OpenAPI snapshot (frontend/lib/api/openapi.json),
# lint, format check, typecheck, the contract check (a renamed API field must fail the
# typecheck), unit tests, the static export into frontend/out and the first-load JavaScript
# budget. The Makefile calls this; CI runs it on a clean clone.
#   scripts/frontend.sh            everything
#   scripts/frontend.sh build      only install + build (what `make run` needs)
set -euo pipefail
cd "$(dirname "$0")/../frontend"
export NEXT_TELEMETRY_DISABLED=1
mode=${1:-all}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "node and npm are missing (run as root to install them with apt)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then echo "Node >= 20.9 is required (found $(node -v))" >&2; exit 1; fi

# The lock file pins versions whose `engines` fit Node 20; never let npm re-resolve.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step() { printf '\n== %s\n' "$*"; }
step "api client";     npm run -s gen:api
if [ "$mode" = all ]; then
  step lint;             npm run -s lint
  step format;           npm run -s format:check
  step typecheck;        npm run -s typecheck
  step "contract check"; npm run -s contract:check
  step "unit tests";     npm run -s test
fi
step build;          npm run -s build
step "bundle size";  node tools/bundle-size.mjs out
echo; echo "dashboard built into $(pwd)/out"
