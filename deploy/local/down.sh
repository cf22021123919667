#!/usr/bin/env bash
# deploy/local/down.sh — stop the local infrastructure cleanly: gateway (if running),
# Redis, PostgreSQL, Kafka. Data is kept. Never fails because something is already stopped;
# exits non-zero only if a component could not be stopped.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/local/lib.sh
source "$here/lib.sh"

failed=()
for component in gateway redis postgres kafka; do
  "$here/$component.sh" stop || failed+=("$component")
done
((${#failed[@]} == 0)) || die "could not stop: ${failed[*]}"
