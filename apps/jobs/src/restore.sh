#!/usr/bin/env bash
# Restores one dump written by backup.sh into the database at
# RESTORE_DATABASE_URL, in a single transaction: either every table comes back
# or nothing changes. The target must be an empty database (create it first);
# docs/backup-restore.md has the whole procedure. Connect as the superuser:
# owners (feed_owner) and grants (feed_app) come back as they were dumped, so
# the login roles can use the restored tables at once.
#   RESTORE_DATABASE_URL=postgres://... bash apps/jobs/src/restore.sh /backups/golive-....dump
set -euo pipefail
dump=${1:?usage: restore.sh <dump-file>}
[ -n "${RESTORE_DATABASE_URL:-}" ] || { echo "restore: RESTORE_DATABASE_URL is required" >&2; exit 1; }
[ -r "$dump" ] || { echo "restore: cannot read $dump" >&2; exit 1; }
started=$(date +%s%N)
pg_restore --exit-on-error --single-transaction \
  --dbname="$RESTORE_DATABASE_URL" "$dump"
printf '{"level":"info","service":"restore","msg":"restore complete","file":"%s","durationMs":%d}\n' \
  "$(basename "$dump")" $((($(date +%s%N) - started) / 1000000))
