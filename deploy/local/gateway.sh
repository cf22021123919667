#!/usr/bin/env bash
# deploy/local/gateway.sh start|stop|status|render OUTDIR — nginx (+ njs) as the local
# Relay edge gateway on 127.0.0.1:$RELAY_GATEWAY_PORT, routing to the services on
# 127.0.0.1:$RELAY_<SERVICE>_PORT.
# The config is rendered from deploy/gateway/nginx.conf.template (shared with
# docker-compose) into the gateway dir ${RELAY_GATEWAY_DIR:-$RELAY_HOME/gateway}, which also
# holds pid, temp files and logs: set RELAY_GATEWAY_DIR, RELAY_GATEWAY_PORT and the
# RELAY_*_PORT variables to run a second, independent gateway.
# `render OUTDIR` writes the config that `start` would use (nginx.conf + healthz.js) to OUTDIR.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GW_DIR="${RELAY_GATEWAY_DIR:-$RELAY_HOME/gateway}"
GW_DIR="${GW_DIR%/}"
CONF="$GW_DIR/nginx.conf"
PIDFILE="$GW_DIR/nginx.pid"
ERROR_LOG="$GW_DIR/error.log"
TEMPLATE_DIR="$RELAY_ROOT/deploy/gateway"
NJS_MODULE="${RELAY_NJS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}"
START_TIMEOUT=10
STOP_TIMEOUT=30

[[ $GW_DIR == /* ]] || GW_DIR="$PWD/$GW_DIR"
[[ $GW_DIR =~ ^[A-Za-z0-9/._+-]+$ ]] || die "unsupported characters in gateway dir: $GW_DIR"

command -v nginx >/dev/null 2>&1 || die "nginx not found: run deploy/local/install.sh"

# render OUTDIR: nginx.conf (paths pointing at $GW_DIR) + healthz.js into OUTDIR.
render() {
  local out="$1"
  [[ -f $NJS_MODULE ]] || die "njs module not found: $NJS_MODULE (run deploy/local/install.sh)"
  mkdir -p "$out"
  # shellcheck disable=SC2016 # envsubst's variable list is literal on purpose
  GATEWAY_PORT="127.0.0.1:$RELAY_GATEWAY_PORT" \
  GATEWAY_PREFIX="$GW_DIR" \
  NJS_MODULE="$NJS_MODULE" \
  IDENTITY_UPSTREAM="127.0.0.1:$RELAY_IDENTITY_PORT" \
  CONNECTIONS_UPSTREAM="127.0.0.1:$RELAY_CONNECTIONS_PORT" \
  INGESTION_UPSTREAM="127.0.0.1:$RELAY_INGESTION_PORT" \
  PLANNING_UPSTREAM="127.0.0.1:$RELAY_PLANNING_PORT" \
  EXPORT_UPSTREAM="127.0.0.1:$RELAY_EXPORT_PORT" \
  AUDIT_UPSTREAM="127.0.0.1:$RELAY_AUDIT_PORT" \
    envsubst '${GATEWAY_PORT} ${GATEWAY_PREFIX} ${NJS_MODULE} ${IDENTITY_UPSTREAM}
              ${CONNECTIONS_UPSTREAM} ${INGESTION_UPSTREAM} ${PLANNING_UPSTREAM}
              ${EXPORT_UPSTREAM} ${AUDIT_UPSTREAM}' \
    <"$TEMPLATE_DIR/nginx.conf.template" >"$out/nginx.conf.tmp"
  mv "$out/nginx.conf.tmp" "$out/nginx.conf"
  cp "$TEMPLATE_DIR/healthz.js" "$out/healthz.js"
}

nginx_cmd() { nginx -p "$GW_DIR/" -e "$ERROR_LOG" -c "$CONF" "$@"; }

gateway_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'nginx: master'; then
    echo "$pid"
  fi
}

start() {
  [[ -n "$(gateway_pid)" ]] && return 0
  port_open 127.0.0.1 "$RELAY_GATEWAY_PORT" && die "port $RELAY_GATEWAY_PORT is already in use by another process"
  mkdir -p "$GW_DIR/tmp"
  render "$GW_DIR"
  rm -f "$PIDFILE"
  local out
  out="$(nginx_cmd -t -q 2>&1)" || die "invalid gateway config $CONF: $out"
  out="$(nginx_cmd 2>&1)" || die "nginx failed to start: $out"
  wait_for_port 127.0.0.1 "$RELAY_GATEWAY_PORT" "$START_TIMEOUT" || {
    tail -n 20 "$ERROR_LOG" >&2
    die "gateway not listening on 127.0.0.1:$RELAY_GATEWAY_PORT (log: $ERROR_LOG)"
  }
}

stop() {
  local pid
  pid="$(gateway_pid)"
  [[ -n $pid ]] || { rm -f "$PIDFILE"; return 0; }
  # Graceful: finish in-flight requests, then exit.
  nginx_cmd -s quit >/dev/null 2>&1 || kill -QUIT "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" "$STOP_TIMEOUT" || stop_pid "$pid" nginx 5
  rm -f "$PIDFILE"
}

status() {
  local pid
  pid="$(gateway_pid)"
  if [[ -n $pid ]]; then
    echo "gateway: running (pid $pid, 127.0.0.1:$RELAY_GATEWAY_PORT, dir $GW_DIR)"
  else
    echo "gateway: stopped"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  render) [[ $# -eq 2 ]] || usage_die "render OUTDIR"; render "$2" ;;
  *) usage_die "start|stop|status|render OUTDIR" ;;
esac
