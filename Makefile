# Everyday commands. `make help` lists them.

GO      ?= go
# Version and commit are stamped into `ingo version` (see cmd/ingo/version.go).
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Which benchmarks `make bench` runs, and where.
BENCH   ?= .
PKG     ?= ./...

.PHONY: help build test bench lint images compose-images

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

build: ## build bin/ingo
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ingo ./cmd/ingo

test: ## run every test (the README's test command, also run by .ci/run)
	$(GO) test -race -timeout 20m ./...

bench: ## run the benchmarks (BENCH=regexp PKG=./tests/... to choose)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -timeout 30m $(PKG)

lint: ## go vet
	$(GO) vet ./...

images: ## build the grading images (Debian base via debootstrap, then ingo/env-*)
	containers/images/build.sh

compose-images: ## build ingo/ingo:dev and ingo/nats:dev for docker-compose.yml (FROM scratch, no registry)
	containers/images/build-services.sh
