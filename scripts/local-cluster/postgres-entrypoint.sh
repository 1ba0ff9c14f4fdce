#!/bin/bash
# Entrypoint of the local postgres image (Debian's PostgreSQL 15, built by
# scripts/local-cluster/images.ts): the part of the official image's
# docker-entrypoint.sh that infra/components/database.ts relies on.
# - First start on an empty PGDATA: initdb with POSTGRES_USER and
#   POSTGRES_PASSWORD (POSTGRES_INITDB_ARGS added), POSTGRES_DB created, and
#   the server listening on every address: the local socket trusted (the
#   postStart hook APPLY_PASSWORD_HOOK uses it), TCP with a password
#   (POSTGRES_HOST_AUTH_METHOD, default scram-sha-256).
# - Then, and on every later start: exec postgres.
# Runs as the image's postgres user (uid 999), never as root, and writes only
# to PGDATA, /var/run/postgresql and /tmp (readOnlyRootFilesystem).
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != 'postgres' ]; then
  exec "$@"
fi
if [ "$(id -u)" = 0 ]; then
  echo "docker-entrypoint.sh: run this image as the postgres user (uid 999: runAsUser), not as root" >&2
  exit 1
fi

: "${PGDATA:?PGDATA is not set}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

mkdir -p "$PGDATA"
chmod 00700 "$PGDATA"

init_db() {
  # shellcheck disable=SC2086 # a list of words, as in the official image
  initdb --username="$POSTGRES_USER" --auth-local=trust --auth-host="$auth" \
    --encoding=UTF8 --locale=C.UTF-8 "$@" ${POSTGRES_INITDB_ARGS:-}
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "docker-entrypoint.sh: the database is not initialised and POSTGRES_PASSWORD is empty" >&2
    exit 1
  fi
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    init_db --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  else
    init_db
  fi
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # On the socket only, as the official image does, so no client connects mid-setup.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --no-password --dbname=postgres \
      --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
    pg_ctl -D "$PGDATA" -m fast -w stop
  fi
  echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up."
fi

exec "$@"
