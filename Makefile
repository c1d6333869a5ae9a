# SDMD: the two commands a fresh Debian machine needs.
#   make run   — build and run sdmd on its embedded default (PostgreSQL in ./data, Docker on the local socket)
#   make test  — install/start everything the suite needs, then run every gate (Rust, plugins,
#                supabase-js, the dashboard's lint/typecheck/unit tests/build, browser end-to-end)
SHELL := /bin/bash
.DEFAULT_GOAL := help
export NEXT_TELEMETRY_DISABLED := 1
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:55432/postgres

.PHONY: help run test deps test-env lint architecture rust-test supabase-js frontend e2e ui plugins bench build api-conformance

help:
	@echo "make run    build and run sdmd (embedded PostgreSQL in ./data, https://127.0.0.1:8443)"
	@echo "make test   set up Docker, the registry and PostgreSQL, then run all gates"
	@echo "make bench  benchmarks (see docs/benchmarks.md)"

deps:
	@bash scripts/deps.sh

test-env: deps
	@bash scripts/test-env.sh

build: deps ui
	cargo build --release -p sdmd

ui:
	bash scripts/frontend.sh build

run: build
	@bash scripts/start-dockerd.sh
	$${CARGO_TARGET_DIR:-target}/release/sdmd serve

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

# The crate graph and module circles: docs/ARCHITECTURE.md#invariants
architecture:
	python3 scripts/check-architecture.py

plugins:
	@if [ -x plugins/build.sh ]; then bash plugins/build.sh; fi

rust-test:
	DATABASE_URL=$(TEST_DATABASE_URL) cargo test --workspace

supabase-js:
	DATABASE_URL=$(TEST_DATABASE_URL) bash scripts/supabase-js-test.sh

frontend:
	bash scripts/frontend.sh

# schemathesis against a real sdmd (own database, sandboxed Docker engine): docs/api.md#conformance
api-conformance: test-env
	SDMD_BIN=$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/sdmd bash scripts/api-conformance.sh

e2e:
	SDMD_BIN=$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/sdmd bash scripts/e2e.sh

test: test-env lint architecture plugins rust-test supabase-js frontend e2e api-conformance
	@echo "make test: all gates passed"

bench: test-env
	bash scripts/bench-services.sh
