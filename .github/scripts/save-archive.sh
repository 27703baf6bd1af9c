#!/usr/bin/env bash
# The merged archive back to the `archive` release: BTFHub's full <kernel>.btf.tar.xz forms and
# the manifest, for the next run and for BTFHub users.
set -euo pipefail
tar --exclude=btf-archive/.work -c btf-archive | zstd -T0 -19 -o btf-archive.tar.zst
gh release view archive >/dev/null 2>&1 || gh release create archive --title "btfmill archive" --notes "Full BTF archive, checked hourly for new kernels."
gh release upload archive btf-archive.tar.zst --clobber
