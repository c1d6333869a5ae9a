#!/usr/bin/env bash
# GET /api/v1/services vs the raw Engine list with 200 containers, and sdmd's memory; then
# checking 100 services against the local registry; then deploying a 12-member stack (sdmd vs
# docker-compose 1.29 vs the engine floor) and validating a 50-member file; then resource
# sampling of 200 containers against Docker's streaming stats; then the plugin calls.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:55432/postgres}"
TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
cargo build --release -p sdmd
SDMD_BIN="$TARGET/release/sdmd" DATABASE_URL="$DB" cargo bench -p sdmd --bench services_list
# Checking 100 services against the local registry: wall time and registry requests by kind.
DATABASE_URL="$DB" cargo bench -p sdmd --bench updates_check
# Deploying a 12-member stack: sdmd vs docker-compose 1.29 (installed by test-env) vs the engine floor.
SDMD_BIN="$TARGET/release/sdmd" DATABASE_URL="$DB" cargo bench -p sdmd --bench deploy_stack
cargo bench -p sdmd-model --bench validate_compose
# 200 running containers sampled every second for 60 s: sdmd (cgroup files) vs Docker's streaming
# stats (one connection per container) vs sdmd's Engine fallback, CPU of each side and the daemons.
SDMD_BIN="$TARGET/release/sdmd" DATABASE_URL="$DB" cargo bench -p sdmd --bench stats_sampler
# Plugin calls (instantiate+call, call-only, the async API path): needs the guest builds.
[ -d plugins/dist ] || bash plugins/build.sh
cargo bench -p sdmd --bench plugins
