#!/bin/sh
# The backup CronJob's second step, when golive:backup.offsite is set: runs
# in the rclone image after backup.sh (an init container) has written the
# dump. Copies every complete dump on the backup volume that the bucket does
# not have yet (so a run that failed to upload is caught up by the next one),
# then keeps only the OFFSITE_KEEP newest dumps in the bucket. rclone checks
# each upload's size and MD5; --immutable refuses to overwrite a dump that is
# already there with different bytes. POSIX sh: the image is Alpine (busybox).
# Logs are JSON lines; credentials stay in rclone's environment.
#
# Env: BACKUP_DIR (required), OFFSITE_REMOTE (required, "offsite:<bucket>/<prefix>"),
#      OFFSITE_KEEP (default 28), BACKUP_PREFIX (default golive),
#      RCLONE_CONFIG_OFFSITE_* (the remote: type, provider, endpoint, region, keys).
set -eu

log() { # level, message, extra JSON fields (already encoded, may be empty)
  printf '{"time":"%s","level":"%s","service":"backup-offsite","msg":"%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" "${3:+,$3}"
}
fail() { log error "$1" "${2:-}"; exit 1; }
# No config file: the remote comes from RCLONE_CONFIG_OFFSITE_* alone.
rc() { rclone --config "" "$@"; }

[ -n "${BACKUP_DIR:-}" ] || fail "BACKUP_DIR is required"
[ -n "${OFFSITE_REMOTE:-}" ] || fail "OFFSITE_REMOTE is required"
keep=${OFFSITE_KEEP:-28}
prefix=${BACKUP_PREFIX:-golive}
case "$keep" in '' | *[!0-9]* | 0*) fail "OFFSITE_KEEP must be an integer from 1" "\"value\":\"$keep\"" ;; esac
case "$prefix" in '' | *[!a-z0-9-]*) fail "BACKUP_PREFIX must match [a-z0-9-]" ;; esac
case "$OFFSITE_REMOTE" in offsite:?*) ;; *) fail "OFFSITE_REMOTE must look like offsite:<bucket>/<prefix>" ;; esac
[ -d "$BACKUP_DIR" ] || fail "BACKUP_DIR is not a directory"

remote_dumps() { rc lsf --files-only --include "${prefix}-*.dump" "$OFFSITE_REMOTE"; }

count() { printf '%s\n' "$1" | grep -c . || true; }

started=$(date +%s)
listing=$(remote_dumps) || fail "cannot list the bucket"
before=$(count "$listing")
# Complete dumps only: backup.sh writes .<name>.partial and renames when done.
rc copy "$BACKUP_DIR" "$OFFSITE_REMOTE" --max-depth 1 --include "${prefix}-*.dump" \
  --immutable --retries 3 --log-level ERROR || fail "upload failed"
listing=$(remote_dumps) || fail "cannot list the bucket"
total=$(count "$listing")
log info "dumps uploaded" "\"uploaded\":$((total - before)),\"inBucket\":${total},\"durationS\":$(($(date +%s) - started))"

# Retention: names carry the UTC timestamp, so newest first is a reverse sort.
pruned=0
for old in $(printf '%s\n' "$listing" | grep . | sort -r | tail -n +$((keep + 1))); do
  rc deletefile "${OFFSITE_REMOTE}/${old}" --log-level ERROR || fail "cannot delete an old dump" "\"file\":\"${old}\""
  pruned=$((pruned + 1))
done
log info "offsite retention applied" "\"kept\":$((total - pruned)),\"pruned\":${pruned},\"keep\":${keep}"
