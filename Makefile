# AIS: build, test, lint and run a local cluster. `make help` lists the targets.
GO      ?= go
BIN     := $(CURDIR)/bin
PKGS    := ./...
GOFILES := $(shell git ls-files '*.go' 2>/dev/null)

export AIS_BIN_DIR := $(BIN)

.PHONY: help build test test-short lint lint-systemd run clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build every binary into ./bin
	$(GO) build -o $(BIN)/ ./cmd/...

lint: ## gofmt, go vet, the house-rule tests and systemd-analyze verify of deploy/systemd
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -count=1 ./tests/houserules
	@$(MAKE) --no-print-directory lint-systemd

# systemd-analyze verify checks that ExecStart's binary exists, so the units are verified as
# installed with ./bin in place of /usr/local/bin; any warning fails the lint.
lint-systemd: ## systemd-analyze verify deploy/systemd/*.service (warnings fail)
	@command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: apt-get install systemd"; exit 1; }
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/ ./cmd/ais-meta ./cmd/ais-target ./cmd/ais-gw
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for f in deploy/systemd/*.service; do sed 's|/usr/local/bin/|$(BIN)/|g' "$$f" >"$$tmp/$${f##*/}"; done && \
	out=$$(cd "$$tmp" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no ./*.service 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] || [ -n "$$out" ]; then echo "systemd-analyze verify deploy/systemd/*.service:"; echo "$$out" | sed "s|$$tmp/|deploy/systemd/|g"; exit 1; fi; \
	echo "systemd-analyze verify: $$(ls deploy/systemd/*.service | wc -l) units clean"

# The chaos CI tier (tests/chaos, in network namespaces) is the last step of the suite.
test: build lint ## the whole suite CI runs: unit, golden, in-process, multi-process and chaos CI tier
	$(GO) test -count=1 -timeout 45m $(PKGS)
	$(MAKE) --no-print-directory chaos-ci

test-short: ## unit tests only (skips multi-process tiers)
	$(GO) test -short -count=1 $(PKGS)

# tests/chaos is its own module (checker dependencies stay out of the product); it needs root,
# iproute2 and nftables, and skips with a message without them. CHAOS_SEED=N replays a seed.
.PHONY: chaos chaos-ci
CHAOS_UNITS := ./check ./history ./netns ./workload
chaos-ci: build ## chaos tests, CI tier: leader partition, target kills, 10-kill durability, corruption (~3 min, root)
	@rm -f $(BIN)/chaos-ci.md
	cd tests/chaos && $(GO) vet ./... && $(GO) test -count=1 $(CHAOS_UNITS) && \
		CHAOS_SUMMARY=$(BIN)/chaos-ci.md $(GO) test -count=1 -timeout 20m -run TestChaos .
	@if [ -f $(BIN)/chaos-ci.md ]; then cat $(BIN)/chaos-ci.md; fi

chaos: build ## the full chaos set: every nemesis, results table in bin/chaos.md (~15 min, root)
	@rm -f $(BIN)/chaos.md
	cd tests/chaos && $(GO) vet ./... && $(GO) test -count=1 $(CHAOS_UNITS) && \
		CHAOS_TIER=full CHAOS_SUMMARY=$(BIN)/chaos.md $(GO) test -count=1 -v -timeout 120m -run TestChaos .
	@if [ -f $(BIN)/chaos.md ]; then cat $(BIN)/chaos.md; fi

run: build ## start a local cluster in the foreground (Ctrl-C stops it); DIR, TARGETS, MOUNTPATHS, GATEWAYS
	@BIN=$(BIN) exec deploy/local/run.sh

.PHONY: bench bench-quick
bench: build ## measure a fresh local cluster against this machine's ceilings; writes docs/performance.md (< 10 min)
	@BIN=$(BIN) deploy/local/bench.sh

bench-quick: build ## the same with short runs (< 2 min)
	@BIN=$(BIN) QUICK=1 deploy/local/bench.sh

clean: ## remove ./bin (not the data of `make run`)
	rm -rf $(BIN)
