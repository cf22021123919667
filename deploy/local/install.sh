#!/usr/bin/env bash
# deploy/local/install.sh — install what the local Relay infrastructure needs, idempotently:
#   * Debian packages: PostgreSQL 15, Redis, nginx (+ njs module), envsubst, ss, curl, wrk (benchmarks),
#     Prometheus and promtool (the operators' view is tested against it),
#     and Java 17 / Maven when missing (apt-get update only runs if something is missing);
#   * uv (Python package manager) from PyPI when not on PATH;
#   * Apache Kafka broker jars resolved from Maven Central into $RELAY_HOME/kafka/jars
#     (cached: skipped while the sha256 of deploy/local/kafka/pom.xml is unchanged).
#   * kustomize (pinned), built with Go into $RELAY_HOME/bin (renders deploy/k8s/).
# Does nothing (and prints nothing) when everything is already present.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- apt packages
pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in postgresql redis-server libnginx-mod-http-js gettext-base iproute2 curl ca-certificates wrk prometheus; do
  pkg_installed "$pkg" || missing+=("$pkg")
done
nginx_ok=false
for pkg in nginx-light nginx nginx-core nginx-full nginx-extras; do
  pkg_installed "$pkg" && { nginx_ok=true; break; }
done
$nginx_ok || missing+=(nginx)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ! command -v uv >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
  missing+=(python3-pip)
fi

if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and apt-get is not available"
  [[ $EUID -eq 0 ]] || die "missing packages (${missing[*]}): run as root to install them"
  log "installing: ${missing[*]}"
  # Keep package post-install scripts from starting the distribution's own services
  # (a PostgreSQL cluster on 5432, nginx on 80, redis on 6379): we run our own instances.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$RELAY_LOG_DIR/apt-install.log"
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt-get failed (full log: $apt_log)"
  fi
  rm -f "$policy"; trap - EXIT
fi

[[ -x /usr/lib/postgresql/15/bin/postgres ]] || die "PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin"
[[ -f /usr/lib/nginx/modules/ngx_http_js_module.so ]] || die "njs module not found (/usr/lib/nginx/modules/ngx_http_js_module.so)"
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "${java_major:-0}" -ge 17 ]] 2>/dev/null || die "Java 17+ required for Kafka (found: ${java_major:-none})"

# ---------------------------------------------------------------- uv
if ! command -v uv >/dev/null 2>&1; then
  log "installing uv from PyPI"
  uv_log="$RELAY_LOG_DIR/uv-install.log"
  # Debian's system python is "externally managed" (PEP 668): fall back to a --user install.
  if ! python3 -m pip install -q uv >"$uv_log" 2>&1 &&
     ! python3 -m pip install -q --user --break-system-packages uv >>"$uv_log" 2>&1; then
    tail -n 20 "$uv_log" >&2
    die "pip install uv failed (full log: $uv_log)"
  fi
  # pyenv's shims learn about new scripts only on a rehash.
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
  if ! command -v uv >/dev/null 2>&1; then
    if [[ -x "$HOME/.local/bin/uv" ]]; then
      log "uv installed in $HOME/.local/bin: add that directory to PATH"
    else
      die "uv installed but not found on PATH"
    fi
  fi
fi

# ---------------------------------------------------------------- Kafka jars
pom="$RELAY_LOCAL_DIR/kafka/pom.xml"
jars="$RELAY_HOME/kafka/jars"
stamp="$RELAY_HOME/kafka/jars.pom.sha256"
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ ! -d $jars || "$(cat "$stamp" 2>/dev/null || true)" != "$pom_sum" ]]; then
  log "resolving Kafka jars from Maven Central (first run takes a minute)"
  mkdir -p "$RELAY_HOME/kafka"
  tmp_jars="$RELAY_HOME/kafka/jars.tmp"
  rm -rf "$tmp_jars"
  mvn_log="$RELAY_LOG_DIR/kafka-mvn.log"
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
        -DoutputDirectory="$tmp_jars" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    die "maven dependency resolution failed (full log: $mvn_log)"
  fi
  compgen -G "$tmp_jars/kafka_2.13-*.jar" >/dev/null || die "kafka_2.13 jar missing after resolution"
  rm -rf "$jars"
  mv "$tmp_jars" "$jars"
  printf '%s\n' "$pom_sum" >"$stamp"
fi

# ---------------------------------------------------------------- kustomize
# Renders deploy/k8s/ (deploy/tests/test_k8s.py); built with Go, pinned to the newest release that
# builds with Go 1.26 (v5.8.3 needs Go 1.27).
KUSTOMIZE_VERSION=v5.8.2
kustomize_bin="$RELAY_HOME/bin/kustomize"
if [[ "$("$kustomize_bin" version 2>/dev/null || true)" != "$KUSTOMIZE_VERSION" ]]; then
  go_bin="$(command -v go || true)"
  [[ -n $go_bin ]] || go_bin=/usr/local/go/bin/go
  [[ -x $go_bin ]] || die "kustomize $KUSTOMIZE_VERSION is built with Go: install Go (https://go.dev/dl/) and put it on PATH"
  log "building kustomize $KUSTOMIZE_VERSION with Go (first run takes a minute)"
  mkdir -p "$RELAY_HOME/bin"
  go_log="$RELAY_LOG_DIR/kustomize-install.log"
  if ! GOBIN="$RELAY_HOME/bin" "$go_bin" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$go_log" 2>&1; then
    tail -n 30 "$go_log" >&2
    die "go install kustomize failed (full log: $go_log)"
  fi
  [[ "$("$kustomize_bin" version 2>/dev/null || true)" == "$KUSTOMIZE_VERSION" ]] ||
    die "kustomize installed but $kustomize_bin does not report $KUSTOMIZE_VERSION"
fi
