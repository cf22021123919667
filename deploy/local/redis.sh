#!/usr/bin/env bash
# deploy/local/redis.sh start|stop|status — our own redis-server for local Relay development
# on 127.0.0.1:$RELAY_REDIS_PORT, daemonized, append-only persistence; config, pid file and
# data in $RELAY_HOME/redis, log in $RELAY_HOME/logs/redis.log.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_DIR="$RELAY_HOME/redis"
CONF="$REDIS_DIR/redis.conf"
PIDFILE="$REDIS_DIR/redis.pid"
LOGFILE="$RELAY_LOG_DIR/redis.log"
START_TIMEOUT=30

redis_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'redis-server'; then
    echo "$pid"
  fi
}

cli() { redis-cli -h 127.0.0.1 -p "$RELAY_REDIS_PORT" "$@"; }

write_conf() {
  mkdir -p "$REDIS_DIR"
  cat >"$CONF" <<CONF
# Managed by deploy/local/redis.sh (rewritten on every start): do not edit.
bind 127.0.0.1
port $RELAY_REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile $PIDFILE
dir $REDIS_DIR
logfile $LOGFILE
loglevel notice
appendonly yes
appendfsync everysec
CONF
}

start() {
  [[ -n "$(redis_pid)" ]] && return 0
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found: run deploy/local/install.sh"
  port_open 127.0.0.1 "$RELAY_REDIS_PORT" && die "port $RELAY_REDIS_PORT is already in use by another process"
  write_conf
  rm -f "$PIDFILE"
  local out
  out="$(redis-server "$CONF" 2>&1)" || die "redis-server failed to start: $out"
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  # PONG only once the append-only file is loaded.
  until [[ "$(cli ping 2>/dev/null)" == PONG ]]; do
    if (( $(date +%s) >= deadline )); then
      tail -n 20 "$LOGFILE" >&2
      die "redis not answering on 127.0.0.1:$RELAY_REDIS_PORT after ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.2
  done
}

stop() {
  local pid
  pid="$(redis_pid)"
  [[ -n $pid ]] || { rm -f "$PIDFILE"; return 0; }
  cli shutdown >/dev/null 2>&1 || true
  wait_pid_gone "$pid" 20 || stop_pid "$pid" redis 10
  rm -f "$PIDFILE"
}

status() { report_status redis "$(redis_pid)" "127.0.0.1:$RELAY_REDIS_PORT"; }

dispatch "${1:-}"
