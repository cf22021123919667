#!/usr/bin/env bash
# deploy/compose/postgres-init.sh — run once by the postgres image on its first start (empty
# volume), from /docker-entrypoint-initdb.d/ (see docker-compose.yml). For each Relay service S:
# a login role relay_S with password $RELAY_DB_PASSWORD and a database relay_S owned by it, the
# same names as the local cluster (deploy/local/postgres.sh). Development credentials only.
set -euo pipefail

: "${RELAY_DB_PASSWORD:?RELAY_DB_PASSWORD must be set}"

for service in identity connections ingestion planning export audit; do
  # psql variables from stdin: :"name" is a quoted identifier, :'password' a quoted literal.
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set=name="relay_${service}" --set=password="${RELAY_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
