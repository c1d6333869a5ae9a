#!/usr/bin/env bash
# Builds every guest plugin into plugins/dist/<name>.wasm (release, wasm32-wasip2 components):
# the Rust SDK examples, the hostile test fixtures and the JavaScript example in examples/.
# Installs what it needs (the rustup target, the npm packages of the JS example), and runs the guest
# crates' own unit tests (pure logic, e.g. the semver table tests) on the host target. Idempotent.
# Usage: plugins/build.sh [--rust-only]   (`make plugins` runs it; CI runs `make test`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dist="$here/dist"
mkdir -p "$dist"

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# Own target dir so a host build and a guest build never fight over one lock.
export CARGO_TARGET_DIR="${PLUGINS_TARGET_DIR:-$here/target}"
(cd "$here" && cargo build --release --target wasm32-wasip2 --workspace)
(cd "$here" && cargo test --workspace --quiet)
for crate in semver_strategy http_health webhook_notify hostile future_wit nosy_strategy; do
  cp "$CARGO_TARGET_DIR/wasm32-wasip2/release/$crate.wasm" "$dist/${crate//_/-}.wasm"
done

if [ "${1:-}" != "--rust-only" ]; then
  "$root/examples/plugins/js-keyword-health/build.sh" "$dist/js-keyword-health.wasm"
fi
ls -l "$dist"
