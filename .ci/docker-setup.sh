#!/usr/bin/env bash
# The Docker side of CI, idempotent: Debian's docker.io and docker-compose, a running dockerd,
# and the images the real-engine tests use, built locally (there is no image registry here)
# and cached by tag, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
# docker.io and docker-compose: the engine and the compose CLI the tests drive;
# mmdebstrap: the base image's root filesystem; python3-docker and python3-venv: the image
# script runs on the system Python (whose version the image shares) before any test venv.
PACKAGES=(docker.io docker-compose mmdebstrap python3-docker python3-venv)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_up() { timeout 5 docker info >/dev/null 2>&1; }

wait_for_engine() {
  for _ in $(seq 60); do
    engine_up && return 0
    sleep 1
  done
  return 1
}

start_dockerd() {
  echo "starting dockerd $* (log: $DOCKERD_LOG)"
  setsid nohup dockerd "$@" >"$DOCKERD_LOG" 2>&1 < /dev/null &
  DOCKERD_PID=$!
}

if ! engine_up; then
  start_dockerd
  if ! wait_for_engine; then
    # Seen on some kernels without the iptables modules: the engine still serves published
    # ports through its userland proxy with the firewall integration off.
    echo "dockerd did not come up; retrying with --iptables=false" >&2
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    start_dockerd --iptables=false
    wait_for_engine || { tail -n 40 "$DOCKERD_LOG" >&2; exit 1; }
  fi
fi
docker info --format 'engine {{.ServerVersion}}, storage driver {{.Driver}}'

/usr/bin/python3 tests/docker/images.py
