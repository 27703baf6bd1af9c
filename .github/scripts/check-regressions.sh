#!/usr/bin/env bash
# Fails the scheduled run when a kernel that was ok before is no longer ok: merge keeps every entry,
# so a drop means something went wrong, and it must not be published quietly.
set -euo pipefail
before=$1
after=$2
lost=$(jq -r --slurpfile after "$after" '
  .kernels | to_entries[] | select(.value.status == "ok")
  | select(($after[0].kernels[.key].status // "missing") != "ok") | .key' "$before")
ok_before=$(jq '[.kernels[] | select(.status == "ok")] | length' "$before")
ok_after=$(jq '[.kernels[] | select(.status == "ok")] | length' "$after")
echo "ok kernels: $ok_before before, $ok_after after"
if [ -n "$lost" ]; then
  echo "::error::kernels that were ok are no longer: $lost"
  exit 1
fi
