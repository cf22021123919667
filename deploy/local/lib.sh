# deploy/local/lib.sh — common settings and helpers for the deploy/local/*.sh scripts.
# Sourced, not executed. Defines RELAY_ROOT, RELAY_HOME, the port layout (every value
# overridable from the environment) and small helpers: log, die, wait_for_port,
# pid-file helpers and as_postgres.
# shellcheck shell=bash

RELAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RELAY_HOME="${RELAY_HOME:-$RELAY_ROOT/.relay}"
# shellcheck disable=SC2034 # used by the scripts sourcing this file
RELAY_LOCAL_DIR="$RELAY_ROOT/deploy/local"

# Infrastructure ports.
RELAY_KAFKA_PORT="${RELAY_KAFKA_PORT:-19092}"
RELAY_KAFKA_CONTROLLER_PORT="${RELAY_KAFKA_CONTROLLER_PORT:-19093}"
RELAY_PG_PORT="${RELAY_PG_PORT:-15432}"
RELAY_REDIS_PORT="${RELAY_REDIS_PORT:-16379}"
RELAY_GATEWAY_PORT="${RELAY_GATEWAY_PORT:-8080}"

# Python service ports.
RELAY_IDENTITY_PORT="${RELAY_IDENTITY_PORT:-8101}"
RELAY_CONNECTIONS_PORT="${RELAY_CONNECTIONS_PORT:-8102}"
RELAY_INGESTION_PORT="${RELAY_INGESTION_PORT:-8103}"
RELAY_PLANNING_PORT="${RELAY_PLANNING_PORT:-8104}"
RELAY_EXPORT_PORT="${RELAY_EXPORT_PORT:-8105}"
RELAY_AUDIT_PORT="${RELAY_AUDIT_PORT:-8106}"
RELAY_SERVICES="${RELAY_SERVICES:-identity connections ingestion planning export audit}"

export RELAY_ROOT RELAY_HOME RELAY_KAFKA_PORT RELAY_KAFKA_CONTROLLER_PORT RELAY_PG_PORT \
  RELAY_REDIS_PORT RELAY_GATEWAY_PORT RELAY_IDENTITY_PORT RELAY_CONNECTIONS_PORT \
  RELAY_INGESTION_PORT RELAY_PLANNING_PORT RELAY_EXPORT_PORT RELAY_AUDIT_PORT RELAY_SERVICES

# shellcheck disable=SC2034 # used by the scripts sourcing this file
RELAY_LOG_DIR="$RELAY_HOME/logs"

# log MSG... — progress message on stderr, prefixed with the calling script's name.
log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

# die MSG... — print an error and exit 1.
die() { printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# port_open HOST PORT — true if a TCP connection to HOST:PORT succeeds right now.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for_port HOST PORT TIMEOUT_S — wait until HOST:PORT accepts connections.
wait_for_port() {
  local host="$1" port="$2" timeout="$3" deadline
  deadline=$(( $(date +%s) + timeout ))
  until port_open "$host" "$port"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}

# pid_alive PID — true if the process exists.
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# read_pid FILE — print the pid stored in FILE (nothing if missing/empty).
read_pid() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }

# pidfile_alive FILE — true if FILE holds the pid of a running process.
pidfile_alive() { pid_alive "$(read_pid "$1")"; }

# wait_pid_gone PID TIMEOUT_S — wait until PID has exited; false on timeout.
wait_pid_gone() {
  local pid="$1" deadline=$(( $(date +%s) + $2 ))
  while pid_alive "$pid"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.2
  done
}

# stop_pid PID NAME TIMEOUT_S — SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
stop_pid() {
  local pid="$1" name="$2" timeout="$3"
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$timeout"; then
    log "$name (pid $pid) did not stop within ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || die "could not kill $name (pid $pid)"
  fi
}

# as_postgres CMD... — run CMD as the postgres OS user when root (PostgreSQL refuses
# to run as root), directly otherwise.
as_postgres() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# usage_die "start|stop|status" — standard usage error for the service scripts.
usage_die() { printf 'usage: %s %s\n' "$0" "$1" >&2; exit 2; }

mkdir -p "$RELAY_HOME" "$RELAY_LOG_DIR"

# report_status NAME PID ADDRESS — one status line; false when PID is empty (stopped).
report_status() {
  if [[ -n ${2:-} ]]; then
    echo "$1: running (pid $2, $3)"
  else
    echo "$1: stopped"
    return 1
  fi
}

# dispatch COMMAND — runs the calling script's start, stop or status function.
dispatch() {
  case "${1:-}" in
    start | stop | status) "$1" ;;
    *) usage_die "start|stop|status" ;;
  esac
}
