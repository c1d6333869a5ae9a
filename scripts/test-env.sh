#!/usr/bin/env bash
# Installs (when root) and starts everything the test suite needs on a fresh Debian machine:
# dockerd, a local image registry on 127.0.0.1:5000, a PostgreSQL 15 cluster for tests, and the
# locally built base image. Idempotent: safe to run again while things are already up.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${SDMD_TEST_STATE:-/tmp/sdmd-test-env}
mkdir -p "$STATE"

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
command -v docker-compose >/dev/null || need_pkgs+=(docker-compose)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql-15)
command -v socat >/dev/null || need_pkgs+=(socat)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing packages: ${need_pkgs[*]} (run as root to install)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
DOCKER=/usr/bin/docker   # Debian's CLI: has the classic builder that works offline

# --- dockerd ---------------------------------------------------------------------------------
bash scripts/start-dockerd.sh

# --- local registry --------------------------------------------------------------------------
if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<CFG
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
CFG
  nohup docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 &
  for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS http://127.0.0.1:5000/v2/ >/dev/null || { echo "registry did not start; see $STATE/registry.log" >&2; exit 1; }
fi

# --- a second registry that requires a login (htpasswd: sdmdtest / sdmd-test-password, test-only) --
if ! curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/ 2>/dev/null | grep -q 401; then
  mkdir -p "$STATE/registry-auth"
  cat >"$STATE/registry-auth.yml" <<CFG
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $STATE/registry-auth
auth:
  htpasswd:
    realm: sdmd-test
    path: $PWD/scripts/fixtures/registry.htpasswd
http:
  addr: 127.0.0.1:5001
CFG
  nohup docker-registry serve "$STATE/registry-auth.yml" >"$STATE/registry-auth.log" 2>&1 &
  for _ in $(seq 1 100); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/ 2>/dev/null)" = 401 ] && break
    sleep 0.1
  done
fi

# --- base image (Docker Hub is unreachable: import busybox as a base) -------------------------
# The label versions the image's contents: an older one (without chown, which the permissions
# helper runs) is rebuilt.
BASE_VERSION=2
if [ "$($DOCKER image inspect -f '{{index .Config.Labels "sdmd.base"}}' local/busybox:1 2>/dev/null)" != "$BASE_VERSION" ]; then
  rm -rf "$STATE/rootfs" && mkdir -p "$STATE/rootfs/bin" "$STATE/rootfs/tmp" "$STATE/rootfs/www"
  cp /bin/busybox "$STATE/rootfs/bin/"
  for t in sh httpd echo cat sleep ls wget env nc chown; do ln -sf busybox "$STATE/rootfs/bin/$t"; done
  tar -C "$STATE/rootfs" -c . | $DOCKER import -c 'ENV PATH=/bin' -c "LABEL sdmd.base=$BASE_VERSION" - local/busybox:1 >/dev/null
fi

# --- PostgreSQL cluster for tests -----------------------------------------------------------
PGBIN=/usr/lib/postgresql/15/bin
PGDATA="$STATE/pg"
PGPORT=${SDMD_TEST_PGPORT:-55432}
if ! $PGBIN/pg_isready -q -h 127.0.0.1 -p "$PGPORT"; then
  chmod 755 "$STATE"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    rm -rf "$PGDATA"; mkdir -p "$PGDATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDATA"; fi
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    as_pg $PGBIN/initdb -D "$PGDATA" -A trust -U postgres --no-sync >/dev/null
  fi
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg $PGBIN/pg_ctl -D "$PGDATA" -l "$PGDATA/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PGPORT -k /tmp -c fsync=off -c max_connections=300" start >/dev/null
fi
echo "test env ready: docker $($DOCKER version -f '{{.Server.APIVersion}}'), registry 127.0.0.1:5000, postgres 127.0.0.1:$PGPORT"
