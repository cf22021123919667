#!/usr/bin/env bash
# deploy/local/up.sh — install what is missing (install.sh), then start the local
# infrastructure: Kafka, PostgreSQL, Redis. Idempotent: already-running parts are left
# alone. Does not start the gateway (gateway.sh) nor the Python services.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/local/lib.sh
source "$here/lib.sh"

"$here/install.sh"
"$here/kafka.sh" start
"$here/postgres.sh" start
"$here/redis.sh" start

"$here/kafka.sh" status
"$here/postgres.sh" status
"$here/redis.sh" status
