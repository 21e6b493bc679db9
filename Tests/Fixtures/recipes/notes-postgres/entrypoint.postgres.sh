#!/bin/sh
# The db service's entrypoint, shipped by the recipe as a versioned config (bump
# PG_ENTRYPOINT_VERSION in abra.sh when this file changes). It waits DB_START_DELAY seconds first
# (0 unless the app's env sets it: a slow volume, say, which makes the app restart until postgres
# answers), then hands over to the image's entrypoint with the recipe's settings for a small app.
set -eu

delay=${DB_START_DELAY:-0}
if [ "$delay" -gt 0 ]; then
  echo "entrypoint.postgres.sh: waiting $delay s before starting postgres" >&2
  sleep "$delay"
fi
exec /usr/local/bin/docker-entrypoint.sh -c max_connections=50 -c shared_buffers=32MB "$@"
