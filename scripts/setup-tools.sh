#!/usr/bin/env bash
# Installs, only when missing or at the wrong version, the tools the tests and
# the drill need: PostgreSQL, promtool/amtool (Debian packages), k6 v2 and
# actionlint (built from the Go modules pinned in tools/go.mod into .tools/bin,
# which git ignores), and rclone (tools/rclone, the backup's off-site step).
# Idempotent; a second run only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

# Pinned versions. Debian tracks security fixes inside a release, so the apt
# packages are pinned to the upstream version Debian bookworm ships.
PG_MAJOR=15
PROMETHEUS_VERSION=2.42
ALERTMANAGER_VERSION=0.25
K6_VERSION=$(awk '$1=="go.k6.io/k6/v2"{print $2}' tools/go.mod)
ACTIONLINT_VERSION=$(awk '$1=="github.com/rhysd/actionlint"{print $2}' tools/go.mod)
RCLONE_VERSION=$(awk '$1=="require" && $2=="github.com/rclone/rclone"{print $3}' tools/rclone/go.mod)
[ -n "$RCLONE_VERSION" ] || { log "no rclone version in tools/rclone/go.mod"; exit 1; }

log() { printf 'setup-tools: %s\n' "$*"; }

apt_install() {
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  if [ -z "${APT_UPDATED:-}" ]; then
    "${as_root[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
if ! compgen -G "/usr/lib/postgresql/${PG_MAJOR}/bin/initdb" >/dev/null; then
  need+=("postgresql-${PG_MAJOR}")
fi
if ! command -v promtool >/dev/null || ! promtool --version 2>&1 | grep -q "version ${PROMETHEUS_VERSION}"; then
  need+=(prometheus)
fi
if ! command -v amtool >/dev/null || ! amtool --version 2>&1 | grep -q "version ${ALERTMANAGER_VERSION}"; then
  need+=(prometheus-alertmanager)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  # The packages' own services are not wanted: tests start their own processes.
  if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install "${need[@]}"
fi
promtool --version 2>&1 | grep -q "version ${PROMETHEUS_VERSION}" || { log "promtool is not ${PROMETHEUS_VERSION}"; exit 1; }
amtool --version 2>&1 | grep -q "version ${ALERTMANAGER_VERSION}" || { log "amtool is not ${ALERTMANAGER_VERSION}"; exit 1; }

# k6 v2 from the Go module proxy, checksummed by tools/go.sum.
if ! "$bin/k6" version 2>/dev/null | grep -q "${K6_VERSION}"; then
  command -v go >/dev/null || { log "Go is required to build k6 (https://go.dev/doc/install)"; exit 1; }
  log "building k6 ${K6_VERSION} (first run takes a few minutes)"
  (cd tools && go build -trimpath -o "$bin/k6" go.k6.io/k6/v2)
fi

# actionlint validates .github/workflows in the tests; same pinning as k6.
if ! "$bin/actionlint" -version 2>/dev/null | grep -qx "${ACTIONLINT_VERSION}"; then
  command -v go >/dev/null || { log "Go is required to build actionlint (https://go.dev/doc/install)"; exit 1; }
  log "building actionlint ${ACTIONLINT_VERSION}"
  (cd tools && go build -trimpath -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint)
fi
# rclone for the off-site backup test: the same version as golive:images.rclone.
if ! "$bin/rclone" version 2>/dev/null | head -1 | grep -q "rclone ${RCLONE_VERSION}"; then
  command -v go >/dev/null || { log "Go is required to build rclone (https://go.dev/doc/install)"; exit 1; }
  log "building rclone ${RCLONE_VERSION} (s3 and local backends only; first run takes a minute or two)"
  (cd tools/rclone && go build -trimpath -o "$bin/rclone" .)
fi
log "ok: postgres ${PG_MAJOR}, promtool ${PROMETHEUS_VERSION}, amtool ${ALERTMANAGER_VERSION}, k6 ${K6_VERSION}, actionlint ${ACTIONLINT_VERSION}, rclone ${RCLONE_VERSION}"
