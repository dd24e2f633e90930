# AIS: build, test, lint and run a local cluster. `make help` lists the targets.
GO      ?= go
BIN     := $(CURDIR)/bin
PKGS    := ./...
GOFILES := $(shell git ls-files '*.go' 2>/dev/null)

export AIS_BIN_DIR := $(BIN)

.PHONY: help build test test-short lint run clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build every binary into ./bin
	$(GO) build -o $(BIN)/ ./cmd/...

lint: ## gofmt, go vet and the house-rule tests
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -count=1 ./tests/houserules

test: build lint ## the whole suite CI runs: unit, golden, in-process and multi-process tests
	$(GO) test -count=1 -timeout 45m $(PKGS)

test-short: ## unit tests only (skips multi-process tiers)
	$(GO) test -short -count=1 $(PKGS)

run: build ## start a local cluster in the foreground (Ctrl-C stops it); DIR, TARGETS, MOUNTPATHS, GATEWAYS
	@BIN=$(BIN) exec deploy/local/run.sh

clean: ## remove ./bin (not the data of `make run`)
	rm -rf $(BIN)
