#!/usr/bin/env bash
# deploy/local/postgres.sh start|stop|status — our own PostgreSQL 15 cluster for local
# Relay development, separate from any system cluster:
#   data $RELAY_HOME/pg/data, TCP 127.0.0.1:$RELAY_PG_PORT (scram-sha-256), unix socket in
#   $RELAY_HOME/pg/socket (superuser "postgres", trust, reachable only by the cluster owner),
#   log $RELAY_HOME/logs/postgres.log. initdb on first start.
# After start it ensures (idempotently) the admin role "relay" (LOGIN CREATEDB CREATEROLE,
# used by tests for throw-away databases) and, for each service S in $RELAY_SERVICES, a role
# relay_S and a database relay_S owned by it.
# Passwords are DEVELOPMENT-ONLY defaults for this local machine: role X has password X
# ("relay" / "relay", "relay_identity" / "relay_identity", ...). Never reuse them elsewhere.
# PostgreSQL refuses to run as root: as root, everything runs as the "postgres" OS user.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN="${RELAY_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="$RELAY_HOME/pg"
PGDATA="$PG_DIR/data"
SOCK_DIR="$PG_DIR/socket"
LOGFILE="$RELAY_LOG_DIR/postgres.log"
START_TIMEOUT=60

pg_ctl() { as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" "$@"; }

running() { [[ -f "$PGDATA/PG_VERSION" ]] && pg_ctl status >/dev/null 2>&1; }

# Superuser psql over the unix socket (extra psql arguments allowed).
# shellcheck disable=SC2120
psql_admin() {
  as_postgres "$PG_BIN/psql" -h "$SOCK_DIR" -p "$RELAY_PG_PORT" -U postgres -d postgres \
    -X -q -v ON_ERROR_STOP=1 "$@"
}

prepare_dirs() {
  [[ -x "$PG_BIN/postgres" ]] || die "PostgreSQL 15 not found in $PG_BIN: run deploy/local/install.sh"
  mkdir -p "$PG_DIR"
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "OS user 'postgres' missing (install the postgresql package)"
    chmod o+x "$RELAY_HOME"
    [[ "$(stat -c %U "$PG_DIR")" == postgres ]] || chown -R postgres:postgres "$PG_DIR"
    touch "$LOGFILE"
    chown postgres:postgres "$LOGFILE"
  fi
  chmod 700 "$PG_DIR"
  as_postgres mkdir -p "$SOCK_DIR"
  as_postgres test -w "$PG_DIR" ||
    die "the postgres user cannot write $PG_DIR (every parent directory must be traversable)"
  local sock="$SOCK_DIR/.s.PGSQL.$RELAY_PG_PORT"
  (( ${#sock} < 100 )) || die "unix socket path too long ($sock): use a shorter RELAY_HOME"
}

init_cluster() {
  [[ -f "$PGDATA/PG_VERSION" ]] && return 0
  local out
  if ! out="$(as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --encoding=UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 2>&1)"; then
    die "initdb failed: $out"
  fi
  # Only the superuser may use the socket without a password; TCP always needs one.
  as_postgres tee "$PGDATA/pg_hba.conf" >/dev/null <<'HBA'
# Managed by deploy/local/postgres.sh
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
HBA
  printf "\n# Relay: settings managed by deploy/local/postgres.sh\ninclude_if_exists = 'relay.conf'\n" |
    as_postgres tee -a "$PGDATA/postgresql.conf" >/dev/null
}

# Rewritten on every start so port overrides take effect.
write_relay_conf() {
  as_postgres tee "$PGDATA/relay.conf" >/dev/null <<CONF
# Managed by deploy/local/postgres.sh (rewritten on every start): do not edit.
listen_addresses = '127.0.0.1'
port = $RELAY_PG_PORT
unix_socket_directories = '$SOCK_DIR'
max_connections = 300
password_encryption = 'scram-sha-256'
CONF
}

ensure_roles() {
  local sql="" svc
  sql+="SELECT format('CREATE ROLE %I', 'relay') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay') \\gexec
ALTER ROLE relay WITH LOGIN CREATEDB CREATEROLE PASSWORD 'relay';
"
  for svc in $RELAY_SERVICES; do
    [[ $svc =~ ^[a-z][a-z0-9_]*$ ]] || die "invalid service name: $svc"
    sql+="SELECT format('CREATE ROLE %I', 'relay_$svc') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay_$svc') \\gexec
ALTER ROLE relay_$svc WITH LOGIN PASSWORD 'relay_$svc';
SELECT format('CREATE DATABASE %I OWNER %I', 'relay_$svc', 'relay_$svc') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'relay_$svc') \\gexec
ALTER DATABASE relay_$svc OWNER TO relay_$svc;
-- lets the admin role create throw-away databases owned by the service (tests, e2e)
GRANT relay_$svc TO relay;
"
  done
  local out
  out="$(psql_admin <<<"$sql" 2>&1)" || die "creating roles/databases failed: $out"
}

start() {
  prepare_dirs
  init_cluster
  if ! running; then
    port_open 127.0.0.1 "$RELAY_PG_PORT" && die "port $RELAY_PG_PORT is already in use by another process"
    write_relay_conf
    if ! pg_ctl -l "$LOGFILE" -w -t "$START_TIMEOUT" -s start >/dev/null 2>&1; then
      tail -n 20 "$LOGFILE" >&2
      die "PostgreSQL failed to start (log: $LOGFILE)"
    fi
  fi
  wait_for_port 127.0.0.1 "$RELAY_PG_PORT" "$START_TIMEOUT" ||
    die "PostgreSQL not listening on 127.0.0.1:$RELAY_PG_PORT (log: $LOGFILE)"
  ensure_roles
}

stop() {
  running || return 0
  local out
  out="$(pg_ctl -m fast -w -t 60 stop 2>&1)" || die "pg_ctl stop failed: $out"
}

status() {
  local pid=""
  running && pid="$(head -n1 "$PGDATA/postmaster.pid")"
  report_status postgres "$pid" "127.0.0.1:$RELAY_PG_PORT"
}

dispatch "${1:-}"
