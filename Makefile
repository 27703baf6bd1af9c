# Set-up is part of every target: a fresh Debian 12 machine needs only `make run` or `make test`.
SHELL := /bin/bash
NODE_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
# The pinned Node (package.json's optional node-linux-$(NODE_ARCH)) and npm (its packageManager).
NODE_PIN := $(shell sed -n 's/^ *"node-linux-$(NODE_ARCH)": "\([^"]*\)".*/\1/p' package.json)
NPM_PIN := $(shell sed -n 's/^ *"packageManager": "npm@\([^"]*\)".*/\1/p' package.json)
# The machine's own PATH: its npm only fetches the bootstrap and must not run under Node 24.
MACHINE_PATH := $(PATH)
# Node 24 LTS from the npm registry (package node-linux-$(NODE_ARCH)), ahead of the machine's node.
export PATH := $(CURDIR)/node_modules/node-linux-$(NODE_ARCH)/bin:$(CURDIR)/node_modules/.bin:$(MACHINE_PATH)
# The pinned Node and npm unpacked from their registry tarballs, to run `npm ci` with: an older
# node would warn that btfmill needs Node 24 (EBADENGINE), and Debian 12's npm 9 leaves out the native
# binding vitest needs (npm/cli#4828).
BOOTSTRAP := .node-bootstrap
BOOTSTRAP_READY := $(BOOTSTRAP)/node-$(NODE_PIN)-npm-$(NPM_PIN)

APT_PACKAGES := dwarves bpftool clang llvm binutils gcc libc6-dev libbpf-dev xz-utils zstd gzip \
	tar apt-utils gpg gpg-agent gpgv rpm createrepo-c bzip2 cpio debian-archive-keyring ca-certificates curl time \
	procps chromium jq python3 golang-go
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup setup-apt run test typecheck lint format bench live consumer-check clean

setup: setup-apt node_modules/.installed
	@# The pinned converter toolchain (pahole, bpftool), checked and cached; a second call downloads only indexes.
	./bin/btfmill.js toolchain

setup-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if ! PATH="$(MACHINE_PATH)" command -v npm >/dev/null; then missing="$$missing nodejs npm"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The machine's npm (Debian's, which setup-apt installs when there is none) only downloads the two
# tarballs; the pinned npm then installs everything under the pinned Node, reading the same
# global npmrc the machine's npm reads (registry, cafile).
$(BOOTSTRAP_READY):
	@echo "fetching Node $(NODE_PIN) and npm $(NPM_PIN) from the npm registry"
	@rm -rf $(BOOTSTRAP) && mkdir -p $(BOOTSTRAP)/node $(BOOTSTRAP)/npm
	@cd $(BOOTSTRAP) && PATH="$(MACHINE_PATH)" npm pack --loglevel=warn node-linux-$(NODE_ARCH)@$(NODE_PIN) npm@$(NPM_PIN) >/dev/null
	@tar -xzf $(BOOTSTRAP)/node-linux-$(NODE_ARCH)-$(NODE_PIN).tgz -C $(BOOTSTRAP)/node --strip-components=1
	@tar -xzf $(BOOTSTRAP)/npm-$(NPM_PIN).tgz -C $(BOOTSTRAP)/npm --strip-components=1
	@PATH="$(MACHINE_PATH)" npm config get globalconfig > $(BOOTSTRAP)/globalconfig
	@rm $(BOOTSTRAP)/*.tgz
	@touch $@

node_modules/.installed: package.json package-lock.json $(BOOTSTRAP_READY)
	@echo "npm ci (Node $(NODE_PIN), npm $(NPM_PIN))"
	@PATH="$(CURDIR)/$(BOOTSTRAP)/node/bin:$(MACHINE_PATH)" node $(BOOTSTRAP)/npm/bin/npm-cli.js ci --no-audit --no-fund \
		--globalconfig="$$(cat $(BOOTSTRAP)/globalconfig)"
	@touch $@

run: setup
	./bin/btfmill.js run

typecheck: setup
	tsc --noEmit

# Biome's linter and format check (biome.jsonc); warnings fail too. `make format` rewrites in place.
lint: setup
	biome check --error-on-warnings

format: setup
	biome format --write

test: setup typecheck lint
	vitest run

# cilium/ebpf's CO-RE fixups on every minified file of the archive equal those on the full BTF
# (test/consumers/cilium-check, built against Debian 13's cilium/ebpf fetched from the machine's mirror).
consumer-check: setup
	node test/consumers/check-archive.ts $(if $(CONFIG),--config $(CONFIG))

# Issue 9's and 19's measurements, one after the other (each prints its table; ~25 min on 2 cores, ~2.9 GB
# downloaded from the machine's Debian mirror by the first two).
bench: setup
	node test/bench/one-kernel.ts --quick
	node test/bench/batch.ts
	node test/bench/incremental.ts --runs=3
	node test/bench/incremental.ts --kernels=100000 --sources=200
	node test/bench/minify.ts
	node test/bench/pull.ts --runs=3
	node test/bench/gen.ts
	node test/bench/in-process.ts
	node test/bench/cdn-parts.ts
	node test/bench/release-assets.ts
	node test/bench/night.ts

# One kernel (the newest) of every Debian release x arch x flavor the machine's mirror carries,
# each compared with its own .BTF; prints the table docs/live.md keeps. Downloads ~21 GB: not in `test`.
live: setup
	./bin/btfmill.js run --config config/live.json; status=$$?; node test/bench/live-table.ts --config config/live.json && exit $$status

clean:
	rm -rf btf-archive .bench .live
