#!/usr/bin/env bash
# Starts dockerd when it is not running (machines without systemd); no-op otherwise.
set -euo pipefail
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker
if ! $DOCKER info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "Docker is not running and only root can start it here" >&2; exit 1; fi
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 100); do $DOCKER info >/dev/null 2>&1 && break; sleep 0.1; done
  $DOCKER info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
