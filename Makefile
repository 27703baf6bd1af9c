# Set-up is part of every target: a fresh Debian 12 machine needs only `make run` or `make test`.
SHELL := /bin/bash
NODE_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
# Node 24 LTS from the npm registry (package node-linux-$(NODE_ARCH)), ahead of the machine's node.
export PATH := $(CURDIR)/node_modules/node-linux-$(NODE_ARCH)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

APT_PACKAGES := dwarves bpftool clang llvm binutils gcc libc6-dev xz-utils zstd gzip tar \
	apt-utils gpg gpg-agent gpgv rpm createrepo-c bzip2 cpio debian-archive-keyring ca-certificates curl time procps chromium jq \
	golang-go
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup setup-apt run test typecheck bench consumer-check clean

setup: setup-apt node_modules/.installed

setup-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

run: setup
	./bin/btfmill.js run

typecheck: setup
	tsc --noEmit

test: setup typecheck
	vitest run

# cilium/ebpf's CO-RE fixups on every minified file of the archive equal those on the full BTF
# (test/consumers/cilium-check, built against Debian 13's cilium/ebpf fetched from the machine's mirror).
consumer-check: setup
	node test/consumers/check-archive.ts $(if $(CONFIG),--config $(CONFIG))

# Issue 9's measurements, one after the other (each prints its table; ~20 min on 2 cores, ~2.9 GB
# downloaded from the machine's Debian mirror by the first two).
bench: setup
	node test/bench/one-kernel.ts --quick
	node test/bench/batch.ts
	node test/bench/incremental.ts --runs=3
	node test/bench/prune.ts
	node test/bench/pull.ts --runs=3
	node test/bench/gen.ts

clean:
	rm -rf btf-archive .bench
