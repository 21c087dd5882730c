#!/bin/sh
# Runs once, when the `postgres` service first initialises its volume (/docker-entrypoint-initdb.d):
# creates the role the api and the worker connect as. It owns nothing; the migrations (run by the
# `migrate` service as the owner `cards`) grant it what it may do. On a volume made before this
# script existed, run the same statement once by hand:
#   docker compose exec postgres psql -U cards -d cards -c "CREATE ROLE cards_app LOGIN PASSWORD '...'"
#   (or ALTER ROLE cards_app LOGIN PASSWORD '...' if the migrations already created it without a login)
set -eu
: "${CARDS_APP_DB_PASSWORD:?set CARDS_APP_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v pw="$CARDS_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE cards_app LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
SQL
