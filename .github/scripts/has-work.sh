#!/usr/bin/env bash
# Prints `true` when a scheduled run has something to publish, `false` when its shards and publish
# job can be skipped: every kernel of the plan unchanged, no object set to minify, every source in
# the state the published site shows, and the site's sources read within MAX_AGE_SECONDS (default
# a day: the page shows when each source was last read). Most hourly runs end here, after the
# plan. The reason goes to stderr, for the log.
# Usage: has-work.sh PLAN_JSON [SITE_ARCHIVE_MANIFEST]   (NOW: epoch seconds, default the clock)
set -euo pipefail
plan=$1
site=${2:-}
max_age=${MAX_AGE_SECONDS:-86400}
now=${NOW:-$(date +%s)}
work() {
  echo "work: $1" >&2
  echo true
  exit 0
}
# A plan that did not finish is no reason to stop: the shards then fail where the log shows why.
{ [ -s "$plan" ] && jq -e '(.kernels | type) == "array" and (.sources | type) == "array"' "$plan" >/dev/null 2>&1; } || work "no readable plan in $plan"
# `skip-has-btf` is work too: the run records the new kernel as shipping its own BTF.
todo=$(jq '[.kernels[] | select(.action != "unchanged")] | length' "$plan")
[ "$todo" -eq 0 ] || work "$todo kernel(s) to record"
minify=$(jq '.minify | length' "$plan")
[ "$minify" -eq 0 ] || work "$minify kernel(s) to minify"
{ [ -n "$site" ] && [ -s "$site" ]; } || work "no published site yet"
# The site's archive manifest is a root (schema 2: each source's `state`) or, from an older
# btfmill, the whole manifest (schema 1: the state itself).
changed=$(jq -r --slurpfile site "$site" '.sources[] | select(.status != ((($site[0].sources[.source] // {}) | .state // .).status // "unpublished")) | .source' "$plan")
[ -z "$changed" ] || work "source state changed: $(echo "$changed" | paste -sd ' ')"
newest=$(jq -r '[.sources[] | (.state // .) | .checkedAt | select(. != null)] | max // empty' "$site")
[ -n "$newest" ] || work "the site records no source read"
age=$((now - $(date -d "$newest" +%s)))
[ "$age" -lt "$max_age" ] || work "the site's sources were last read ${age} s ago"
echo "no work: nothing new since the site was published ${age} s ago" >&2
echo false
