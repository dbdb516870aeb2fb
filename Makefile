# Refundflow: `make dev` runs it, `make test` proves it. Everything else is a
# helper of those two. Recipes live in scripts/ so they can be read and run
# without make.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

.PHONY: help tools build dev test test-prod demo bench bench-scale chaos prod-local sandbox clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

tools: ## install the Temporal CLI and stripe-mock into bin/ if missing or another version
	@scripts/install-tools.sh

build: ## build sandbox, worker and starter into bin/
	go build -o bin/sandbox ./sandbox
	go build -o bin/worker ./worker
	go build -o bin/starter ./starter

dev: ## run the local stack: Temporal dev server (file DB in .dev/), sandbox, worker, starter
	@scripts/dev.sh

test: ## every check CI runs: vet, gofmt, all tests (dev server, stripe-mock), fuzz smoke, compose check
	@scripts/test.sh

test-prod: tools ## only the production-shape test (part of make test): PostgreSQL, the real server, 2 workers, 2 starters, a worker SIGKILLed
	deploy/local/install.sh
	go test -count=1 -timeout=15m -v ./harness/prodtest

demo: ## with `make dev` running: play the refund story with curl
	@scripts/demo.sh

bench: tools ## the pipeline against bare Temporal on one fresh dev server (.bench/), then the Go benchmarks of the hot paths
	go run ./harness/bench
	go test -run='^$$' -bench=. -benchmem ./internal/money ./internal/pci ./internal/request ./starter

bench-scale: tools ## cost as closed workflows grow, on the production shape (REFUNDFLOW_SCALE_STEPS, default 1000,10000)
	deploy/local/install.sh
	go test -count=1 -run='^$$' -bench=Scale -benchtime=1x -timeout=90m ./harness/prodtest

prod-local: tools ## the production shape without Docker: PostgreSQL, the real Temporal server, 2 workers, 2 starters (.prod/)
	@deploy/prod-local.sh

chaos: tools ## 2000 dispositions through faults and SIGKILLs, then the money counted per transaction (.chaos/); GATEWAY=adyen|paypal|stripe for another gateway
	go run ./harness/chaos -gateway $(or $(GATEWAY),erp)

sandbox: ## run only the sandbox (gateway and Genesys stand-in) on :8090
	go build -o bin/sandbox ./sandbox
	bin/sandbox

clean: ## remove built programs and the local stacks' state (.dev/, .prod/); keeps the tools
	rm -f bin/sandbox bin/worker bin/starter
	rm -rf .dev .prod
