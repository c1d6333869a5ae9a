#!/usr/bin/env bash
# GET /api/v1/services vs the raw Engine list with 200 containers, and sdmd's memory; then
# checking 100 services against the local registry.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p sdmd
SDMD_BIN="$(pwd)/target/release/sdmd" DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:55432/postgres}" \
  cargo bench -p sdmd --bench services_list
# Checking 100 services against the local registry: wall time and registry requests by kind.
DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:55432/postgres}" \
  cargo bench -p sdmd --bench updates_check
