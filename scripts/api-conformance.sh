#!/usr/bin/env bash
# API conformance: schemathesis (pinned, from PyPI, in a venv this script makes) against the
# OpenAPI document of a real sdmd — real PostgreSQL (embedded, in a temporary data dir, so its own
# database) and a real Docker engine — authenticated with an API token, with all of schemathesis'
# default checks. Any failure (a 5xx, an undeclared status, a body that does not match its schema,
# a schema-valid request rejected, …) fails the run.
#
# Sandbox: the fuzzer may stop, restart, adopt and delete whatever the API lists, so sdmd does not
# talk to the machine's Docker engine here but to a dockerd of its own, started for the run in a
# network namespace of its own (own data root, own bridge, own iptables; it shares the host's
# containerd under a namespace of its own). Nothing outside it can be touched; everything in it is
# removed at the end. See docs/api.md ("Conformance").
#
# Bounded: the whole run (setup included) stays under 3 minutes on 2 cores; the figures of a run
# are printed at the end and written to $SDMD_CONFORMANCE_REPORT (default: the temp dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SCHEMATHESIS_VERSION=4.32.5
venv=${SDMD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sdmd}/schemathesis-$SCHEMATHESIS_VERSION
port=${SDMD_CONFORMANCE_PORT:-18700}
max_examples=${SDMD_CONFORMANCE_MAX_EXAMPLES:-10}
max_time=${SDMD_CONFORMANCE_MAX_TIME:-110}
# One worker: CPython 3.11's ast module can fail under hypothesis' threads ("AST constructor
# recursion depth mismatch", gh-106905), and sdmd needs the other core.
workers=${SDMD_CONFORMANCE_WORKERS:-1}
bin=${SDMD_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/sdmd}
started=$(date +%s)

# --- schemathesis, pinned, in its own venv (idempotent) ---------------------------------------
if [ ! -x "$venv/bin/schemathesis" ] || [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  # Debian's python3 makes venvs only with python3-venv (its ensurepip is disabled otherwise).
  if ! command -v python3 >/dev/null || ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then echo "python3 with venv is missing (run as root to install python3-venv)" >&2; exit 1; fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The sandbox engine needs `ip netns` and `nsenter`.
if ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "iproute2/util-linux missing (run as root to install them)" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 util-linux >/dev/null
fi
bash scripts/test-env.sh >/dev/null
[ -x "$bin" ] || cargo build -p sdmd

tmp=$(mktemp -d /tmp/sdmd-conformance.XXXXXX)
chmod 755 "$tmp"   # the embedded PostgreSQL runs as the postgres user and must traverse it
ns=sdmdconf$$
dock=$tmp/docker
sdmd_pid=
cleanup() {
  set +e
  [ -n "$sdmd_pid" ] && kill "$sdmd_pid" 2>/dev/null && wait "$sdmd_pid" 2>/dev/null
  if [ -f "$dock/dockerd.pid" ]; then
    ids=$(DOCKER_HOST=unix://$dock/docker.sock /usr/bin/docker ps -aq 2>/dev/null)
    [ -n "$ids" ] && DOCKER_HOST=unix://$dock/docker.sock /usr/bin/docker rm -f -v $ids >/dev/null 2>&1
    pid=$(cat "$dock/dockerd.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ip netns del "$ns" 2>/dev/null
  # The data root holds overlay mounts until dockerd is gone; remove what can be removed.
  rm -rf "$tmp" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # so the EXIT trap cleans up on a signal too

# --- the sandbox engine -------------------------------------------------------------------------
mkdir -p "$dock"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
nsenter --net=/var/run/netns/$ns dockerd --data-root "$dock/root" --exec-root "$dock/exec" \
  --pidfile "$dock/dockerd.pid" -H "unix://$dock/docker.sock" \
  --containerd /var/run/docker/containerd/containerd.sock \
  --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" \
  --cgroup-parent "/$ns" >"$tmp/dockerd.log" 2>&1 &
export DOCKER_HOST=unix://$dock/docker.sock
for _ in $(seq 1 300); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.1; done
/usr/bin/docker info >/dev/null 2>&1 || { echo "sandbox dockerd did not start:" >&2; tail -20 "$tmp/dockerd.log" >&2; exit 1; }
# The base image, so deploys the fuzzer stores can run something.
DOCKER_HOST=unix:///var/run/docker.sock /usr/bin/docker save local/busybox:1 | /usr/bin/docker load -q >/dev/null
# ... and, with a command that keeps running, under the names the bundled app templates use, so
# services made from them deploy and run.
printf 'FROM local/busybox:1\nCMD ["sleep", "3600"]\n' | /usr/bin/docker build -q -t sdmd-conformance/app:1 - >/dev/null
for ref in $(python3 -c 'import json,sys; print(" ".join(t["image"] for t in json.load(open(sys.argv[1]))["templates"] if "image" in t))' "$root/crates/core/templates/bundled.json"); do
  /usr/bin/docker tag sdmd-conformance/app:1 "$ref"
done

# --- sdmd on its own database -------------------------------------------------------------------
email=conformance@example.com
password=conf-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Its own embedded PostgreSQL, even when the caller's shell points DATABASE_URL at another.
env -u DATABASE_URL SDMD_TLS=off SDMD_LISTEN=127.0.0.1:$port SDMD_DATA_DIR=$tmp/data \
  SDMD_ADMIN_EMAIL=$email SDMD_ADMIN_PASSWORD=$password RUST_LOG=${RUST_LOG:-sdmd=warn} \
  "$bin" serve >"$tmp/sdmd.log" 2>&1 &
sdmd_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 600); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$base/healthz" >/dev/null || { echo "sdmd did not start:" >&2; tail -30 "$tmp/sdmd.log" >&2; exit 1; }

# A user session mints the API token the run authenticates with (an API token cannot sign out
# or mint tokens, so the fuzzer cannot end its own credential through those routes).
session=$(curl -fsS -X POST "$base/auth/v1/token?grant_type=password" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}")
jwt=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$session")
created=$(curl -fsS -X POST "$base/api/v1/tokens" -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{"name":"conformance"}')
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$created")

report=${SDMD_CONFORMANCE_REPORT:-$tmp/report}
mkdir -p "$report"
set +e
# From the temp dir: schemathesis keeps its example database in ./.schemathesis.
cd "$tmp"
"$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/api/v1/openapi.json" --url "$base" \
  -H "Authorization: Bearer $token" \
  --workers "$workers" --max-examples "$max_examples" --max-time "$max_time" \
  --request-timeout 30 --seed "${SDMD_CONFORMANCE_SEED:-20261202}" \
  --report junit --report-dir "$report" --warnings off \
  2>&1 | tee "$tmp/schemathesis.log"
rc=${PIPESTATUS[0]}
set -e
# Figures from the JUnit report: one test per operation.
python3 - "$report" "$tmp/schemathesis.log" <<'PY' || true
import glob, re, sys, xml.etree.ElementTree as ET
suites = [ET.parse(f).getroot() for f in sorted(glob.glob(sys.argv[1] + "/junit-*.xml"))[-1:]]
tests = failed = 0
for root in suites:
    for case in root.iter("testcase"):
        tests += 1
        failed += any(c.tag in ("failure", "error") for c in case)
log = open(sys.argv[2], encoding="utf-8", errors="replace").read()
m = re.search(r"(\d+) generated, (\d+) found", log)
cases = f", {m.group(1)} test cases generated" if m else ""
print(f"api-conformance: {tests} tests (one per operation, plus the stateful scenarios){cases}")
print(f"api-conformance: {tests - failed} passed, {failed} failed")
PY
echo "api-conformance: schemathesis $SCHEMATHESIS_VERSION exit $rc, $(($(date +%s) - started)) s in all"
if [ "$rc" != 0 ]; then
  echo "--- sdmd log (tail)"; tail -40 "$tmp/sdmd.log"
fi
exit "$rc"
