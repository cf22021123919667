#!/usr/bin/env bash
# deploy/local/kafka.sh start|stop|status — run Apache Kafka 4.1 (KRaft, combined
# broker+controller, node.id=1) on 127.0.0.1:$RELAY_KAFKA_PORT (controller on
# $RELAY_KAFKA_CONTROLLER_PORT) from the jars resolved by install.sh, on Java 17.
# Data: $RELAY_HOME/kafka/data (formatted on first start), log: $RELAY_HOME/logs/kafka.log.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_DIR="$RELAY_HOME/kafka"
JARS="$KAFKA_DIR/jars"
KAFKA_DATA_DIR="$KAFKA_DIR/data"
CONF="$KAFKA_DIR/server.properties"
PIDFILE="$KAFKA_DIR/kafka.pid"
LOGFILE="$RELAY_LOG_DIR/kafka.log"
LOG4J_CONF="$RELAY_LOCAL_DIR/kafka/log4j2.yaml"
START_TIMEOUT=60
STOP_TIMEOUT=30

# Running = pid file points at a live kafka.Kafka JVM (guards against pid reuse).
kafka_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
  fi
}

# Ask the broker for cluster metadata (Metadata v4 request) and succeed once it lists
# at least one broker, i.e. the broker is unfenced and serving clients.
broker_ready() {
  python3 - "$RELAY_KAFKA_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
port = int(sys.argv[1])
client = b"relay-probe"
body = struct.pack(">i", -1) + b"\x00"                      # all topics, no auto-create
header = struct.pack(">hhih", 3, 4, 7, len(client)) + client  # Metadata v4, corr 7
msg = header + body
with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(struct.pack(">i", len(msg)) + msg)
    buf = b""
    while len(buf) < 16:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit(1)
        buf += chunk
_size, corr, _throttle, brokers = struct.unpack(">iiii", buf[:16])
sys.exit(0 if corr == 7 and brokers >= 1 else 1)
PY
}

render_config() {
  mkdir -p "$KAFKA_DATA_DIR"
  # shellcheck disable=SC2016 # envsubst's variable list is literal on purpose
  KAFKA_DATA_DIR="$KAFKA_DATA_DIR" \
    envsubst '${RELAY_KAFKA_PORT} ${RELAY_KAFKA_CONTROLLER_PORT} ${KAFKA_DATA_DIR}' \
    <"$RELAY_LOCAL_DIR/kafka/server.properties.template" >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

format_storage() {
  [[ -f "$KAFKA_DATA_DIR/meta.properties" ]] && return 0
  local out cluster_id
  out="$(java -cp "$JARS/*" kafka.tools.StorageTool random-uuid 2>&1)" || die "StorageTool random-uuid failed: $out"
  cluster_id="$(grep -Eo '^[A-Za-z0-9_-]{22}$' <<<"$out" | tail -n1)" || true
  [[ -n $cluster_id ]] || die "could not read a cluster id from StorageTool random-uuid: $out"
  if ! out="$(java -cp "$JARS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF" --standalone 2>&1)"; then
    die "Kafka storage format failed: $out"
  fi
  printf '%s\n' "$out" >>"$LOGFILE"
}

start() {
  if [[ -n "$(kafka_pid)" ]]; then
    return 0
  fi
  compgen -G "$JARS/kafka_2.13-*.jar" >/dev/null || die "Kafka jars missing in $JARS: run deploy/local/install.sh"
  for port in "$RELAY_KAFKA_PORT" "$RELAY_KAFKA_CONTROLLER_PORT"; do
    port_open 127.0.0.1 "$port" && die "port $port is already in use by another process"
  done
  render_config
  format_storage
  printf '\n===== %s starting kafka =====\n' "$(date -Is)" >>"$LOGFILE"
  # A pid file left by a broker that died with its machine names some other process, or none.
  rm -f "$PIDFILE"
  # setsid: own session, so the broker survives the calling terminal; the inner shell
  # records its pid and execs java (same pid).
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$LOG4J_CONF" \
      -cp "$JARS/*" kafka.Kafka "$CONF" \
    </dev/null >>"$LOGFILE" 2>&1 &
  local deadline=$(( $(date +%s) + START_TIMEOUT )) pid=""
  while :; do
    pid="$(read_pid "$PIDFILE")"
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      tail -n 30 "$LOGFILE" >&2
      die "kafka exited during startup (log: $LOGFILE)"
    fi
    if [[ -n $pid ]] && port_open 127.0.0.1 "$RELAY_KAFKA_PORT" && broker_ready; then
      return 0
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 30 "$LOGFILE" >&2
      die "kafka not ready on 127.0.0.1:$RELAY_KAFKA_PORT after ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.5
  done
}

stop() {
  local pid
  pid="$(kafka_pid)"
  if [[ -n $pid ]]; then
    stop_pid "$pid" kafka "$STOP_TIMEOUT"
    printf '===== %s kafka stopped =====\n' "$(date -Is)" >>"$LOGFILE"
  fi
  rm -f "$PIDFILE"
}

status() { report_status kafka "$(kafka_pid)" "127.0.0.1:$RELAY_KAFKA_PORT"; }

dispatch "${1:-}"
