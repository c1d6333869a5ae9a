#!/usr/bin/env bash
# Builds the JavaScript health check into a component with componentize-js (installed from npm by the
# lock file), then embeds plugin.json as the `sdmd-manifest` section. Usage: build.sh [out.wasm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$here/dist/js-keyword-health.wasm}"
cd "$here"
if [ ! -x node_modules/.bin/componentize-js ]; then
  npm ci --no-audit --no-fund
fi
mkdir -p dist "$(dirname "$out")"
# `http` and `fetch-event` off: otherwise the component imports wasi:http, which SDMD does not provide
# (plugins reach the network only through sdmd:plugin/http).
./node_modules/.bin/componentize-js app.js --wit "$root/wit/0.1.0" --world-name health-check \
  -d http -d fetch-event -o dist/raw.wasm
node add-manifest.mjs dist/raw.wasm plugin.json "$out"
echo "built $out"
