#!/bin/sh
# One-shot setup of Temporal's persistence, run by the `temporal-setup` service of docker-compose.yml
# with the temporalio/admin-tools image of the same version as the server.
#
# For each of Temporal's two databases (the default store and the visibility store) it creates the
# database if it is missing, puts in the schema-version tables, and applies every versioned schema
# change up to the version this admin-tools image carries. Every step is idempotent: the service
# runs on each `docker compose up`, and after raising TEMPORAL_VERSION it upgrades the schema before
# the new server starts (Temporal's upgrade order: schema first, then the server).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}" # read by temporal-sql-tool itself
port="${DB_PORT:-5432}"
schemas="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}" # where the admin-tools image keeps them

echo "temporal-setup: waiting for PostgreSQL at ${POSTGRES_SEEDS}:${port}"
tries=0
until nc -z -w 5 "${POSTGRES_SEEDS}" "${port}"; do
  tries=$((tries + 1))
  if [ "${tries}" -ge 60 ]; then
    echo "temporal-setup: PostgreSQL did not answer" >&2
    exit 1
  fi
  sleep 2
done

sql() {
  temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${port}" -u "${POSTGRES_USER}" "$@"
}

setup() { # database, schema folder
  echo "temporal-setup: database $1 (schema $2)"
  sql --db "$1" create
  sql --db "$1" setup-schema -v 0.0
  sql --db "$1" update-schema -d "${schemas}/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "temporal-setup: schemas are up to date"
