#!/bin/sh
# Entrypoint of the fixture image cchost-fixture/postgres (built by scripts/fixture-images from
# Debian's postgresql-15). Like the official postgres image: on first start it initialises
# $PGDATA (/var/lib/postgresql/data) with the superuser POSTGRES_USER (default postgres), its
# password from POSTGRES_PASSWORD_FILE (a swarm secret) or POSTGRES_PASSWORD, and the database
# POSTGRES_DB (default: the user's name); then it runs postgres in the foreground as the postgres
# user, listening on 0.0.0.0:5432. Connections over the network need the password
# (scram-sha-256); local socket connections inside the container are trusted, so backup hooks can
# run `pg_dump -U $POSTGRES_USER $POSTGRES_DB` through `docker exec ... sh -c`.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 2775 /var/run/postgresql
  # A volume created empty belongs to root; a restored one may hold files of another owner.
  if [ "$(stat -c %U "$PGDATA")" != postgres ] || [ -n "$(find "$PGDATA" ! -user postgres -print -quit)" ]; then
    chown -R postgres:postgres "$PGDATA"
  fi
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}

# A start that failed while initialising leaves this marker (initdb itself cleans up after a
# failure): start again from an empty directory.
if [ -e "$PGDATA/.initialising" ]; then
  find "$PGDATA" -mindepth 1 -delete
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    [ -r "$POSTGRES_PASSWORD_FILE" ] || { echo "entrypoint: cannot read POSTGRES_PASSWORD_FILE $POSTGRES_PASSWORD_FILE" >&2; exit 1; }
    password=$(cat "$POSTGRES_PASSWORD_FILE")
  else
    password=${POSTGRES_PASSWORD:-}
  fi
  [ -n "$password" ] || { echo "entrypoint: no password (set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD)" >&2; exit 1; }

  echo "entrypoint: initialising $PGDATA for user $user, database $db"
  pwfile=$(mktemp)
  printf '%s\n' "$password" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  touch "$PGDATA/.initialising"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"

  if [ "$db" != postgres ]; then
    # A server on the socket only, so nothing outside sees the database half made.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c jit=off" -w start >/dev/null
    printf 'CREATE DATABASE "%s";\n' "$(printf '%s' "$db" | sed 's/"/""/g')" |
      psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres >/dev/null
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  rm -f "$PGDATA/.initialising"
  echo "entrypoint: initialised"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 -c jit=off "$@"
