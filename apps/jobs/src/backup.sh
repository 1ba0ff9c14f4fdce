#!/usr/bin/env bash
# The database backup CronJob's command: one pg_dump in custom format into
# BACKUP_DIR (a mounted volume), then keep only the BACKUP_KEEP newest dumps.
# A dump becomes visible under its final name only after pg_restore has read
# its table of contents back, so a crash mid-dump never leaves a file that
# looks complete. Logs are JSON lines; the connection string is never printed.
#
# Env: DATABASE_URL (required), BACKUP_DIR (required), BACKUP_KEEP (default 7),
#      BACKUP_PREFIX (default golive), BACKUP_COMPRESS (0-9, default 6).
set -euo pipefail

log() { # level, message, extra JSON fields (already encoded, may be empty)
  printf '{"time":"%s","level":"%s","service":"backup","msg":"%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$2" "${3:+,$3}"
}
fail() { log error "$1" "${2:-}"; exit 1; }

[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL is required"
[ -n "${BACKUP_DIR:-}" ] || fail "BACKUP_DIR is required"
keep=${BACKUP_KEEP:-7}
prefix=${BACKUP_PREFIX:-golive}
compress=${BACKUP_COMPRESS:-6}
[[ "$keep" =~ ^[1-9][0-9]{0,3}$ ]] || fail "BACKUP_KEEP must be an integer from 1 to 9999" "\"value\":\"$keep\""
[[ "$prefix" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || fail "BACKUP_PREFIX must match [a-z0-9-]"
[[ "$compress" =~ ^[0-9]$ ]] || fail "BACKUP_COMPRESS must be 0-9"
[ -d "$BACKUP_DIR" ] && [ -w "$BACKUP_DIR" ] || fail "BACKUP_DIR is not a writable directory"

# UTC with nanoseconds: names sort in time order and never collide.
name="${prefix}-$(date -u +%Y%m%dT%H%M%S.%NZ).dump"
partial="${BACKUP_DIR}/.${name}.partial"
trap 'rm -f "$partial"' EXIT
started=$(date +%s%N)

pg_dump --format=custom --compress="$compress" \
  --file="$partial" --dbname="$DATABASE_URL" ||
  fail "pg_dump failed"
# `grep -c` exits 1 when it counts 0, and a database with no tables yet gives a
# valid dump with no entries: only pg_restore's failure (pipefail) means unreadable.
entries=$(pg_restore --list "$partial" | { grep -cv '^;' || true; }) || fail "dump is unreadable"
mv "$partial" "${BACKUP_DIR}/${name}"
trap - EXIT

bytes=$(stat -c %s "${BACKUP_DIR}/${name}")
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
log info "backup written" "\"file\":\"${name}\",\"bytes\":${bytes},\"tocEntries\":${entries},\"durationMs\":${elapsed_ms}"

# Retention: newest first by name (the timestamp), delete everything past keep.
mapfile -t dumps < <(find "$BACKUP_DIR" -maxdepth 1 -type f -name "${prefix}-*.dump" -printf '%f\n' | sort -r)
pruned=0
for old in "${dumps[@]:$keep}"; do
  rm -f -- "${BACKUP_DIR}/${old}"
  pruned=$((pruned + 1))
done
log info "retention applied" "\"kept\":$((${#dumps[@]} - pruned)),\"pruned\":${pruned},\"keep\":${keep}"
