#!/usr/bin/env bash
# Prints `--state URL` when the site at URL was published with an archive manifest, nothing when
# there is no site yet (the first night), so every job can pass the output on as it is.
set -euo pipefail
url=${1%/}
if curl -fsSL --retry 3 -o /dev/null "$url/archive-manifest.json"; then
  printf -- '--state %s\n' "$url"
fi
