# Relay: `make dev` runs the whole system, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PYTEST := $(UV) run --frozen pytest
SERVICES := identity connections ingestion planning export audit

.PHONY: help install infra dev down migrate topics test test-unit test-integration test-e2e lint contracts bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## install what is missing (apt packages, uv, Kafka jars) and the Python workspace
	@bash deploy/local/install.sh
	@$(UV) sync --frozen --quiet

infra: install ## start Kafka (KRaft), PostgreSQL and Redis
	@bash deploy/local/up.sh

dev: install ## run the whole system in the foreground (Ctrl-C stops everything)
	@$(UV) run --frozen python deploy/local/dev.py

down: ## stop a stack left running (services, gateway, infrastructure)
	@-pkill -TERM -f 'python -m (identity|connections|ingestion|planning|export|audit)$$' || true
	@-pkill -TERM -f '^/usr/bin/prometheus --config.file=.*/prometheus/prometheus.yml' || true
	@-pkill -KILL -f '^[^ ]*(java|postgres) .*/relay-faults-' || true  # the fault tests' own Kafka and PostgreSQL
	@bash deploy/local/down.sh

test: infra ## every test: unit, integration (real PostgreSQL and Kafka), end-to-end through the gateway
	@$(PYTEST) libs services deploy tests-e2e

test-unit: install ## unit tests only (no infrastructure)
	@$(PYTEST) -m "not integration and not e2e" libs services deploy

test-integration: infra ## integration tests only
	@$(PYTEST) -m integration libs services

test-e2e: infra ## end-to-end tests only
	@$(PYTEST) tests-e2e

lint: install ## ruff and mypy (strict for libs/)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy --strict -p relay_contracts -p relay_platform -p relay_devstack -p relay_testing
	@$(UV) run --frozen mypy $(foreach s,$(SERVICES),-p $(s))

contracts: ## write the published event contract (JSON Schema, AsyncAPI) under libs/contracts/published/
	@$(UV) run --frozen python -m relay_contracts.publish

bench: install ## benchmarks (tests-e2e/bench/); results written to tests-e2e/bench/results/
	@$(UV) run --frozen python tests-e2e/bench/run.py

clean: down ## stop everything and delete local data (.relay/)
	rm -rf .relay
