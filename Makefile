# Haven for Django. `make run` serves the app on the embedded default (SQLite, in-memory channel
# layer); `make test` runs ruff, import-linter, mypy and the whole test suite. Both set themselves
# up first, from the lock files in requirements/ (`make lock` writes them; README.md, "Dependencies").
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK := requirements/dev.txt
SYSTEM_PACKAGES := caddy chromium shellcheck docker-compose nodejs zbar-tools

.PHONY: run test test-client screenshots lint typecheck setup setup-dev lock system-deps bench bench-rest format clean

# pip itself is pinned in the dev lock: pip-tools (make lock) follows pip's internals.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$$(grep -m1 '^pip==' $(DEV_LOCK))"

# Exactly the locked versions, then the project itself without resolving anything again. A stamp
# is older than its lock after `make lock` or a merge that changed it, so the next target
# reinstalls.
$(RUNTIME_STAMP): $(RUNTIME_LOCK) pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r $(RUNTIME_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(DEV_LOCK) $(RUNTIME_LOCK) pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(RUNTIME_STAMP)

setup: $(RUNTIME_STAMP)

setup-dev: $(DEV_STAMP)

# The lock files, from pyproject.toml's ranges for this Python (3.11, as the Docker image's).
# `make lock` keeps every pin that still fits (after adding or changing a dependency);
# `make lock UPGRADE=1` moves everything to the newest versions the ranges allow, and
# `make lock UPGRADE_PACKAGE=daphne` just that package. The dev lock is constrained by the
# runtime lock, so both install the same version of every package they share.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)
# --upgrade-package adds its package to a lock that lacks it: the runtime lock gets the option
# only for one of its own packages.
UPGRADE_ONE = $(if $(UPGRADE_PACKAGE),--upgrade-package $(UPGRADE_PACKAGE))
IN_RUNTIME = $(shell grep -qix '$(UPGRADE_PACKAGE)==.*' $(RUNTIME_LOCK) && echo yes)
lock: setup-dev
	$(PIP_COMPILE) $(if $(IN_RUNTIME),$(UPGRADE_ONE)) --output-file $(RUNTIME_LOCK) pyproject.toml
	$(PIP_COMPILE) $(UPGRADE_ONE) --extra dev --constraint $(RUNTIME_LOCK) \
		--output-file $(DEV_LOCK) pyproject.toml

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Haven is starting on http://$(HOST):$(PORT)"
	$(BIN)/python -m haven_site.serve -b $(HOST) -p $(PORT)

# Debian packages the tests drive for real: Caddy (proxy), Chromium (browser), ShellCheck,
# docker-compose (v1: validates the Compose file where the v2 plugin is absent), Node.js (runs the
# browser client's crypto modules against the protocol's known-answer vectors, tests/client/),
# zbar-tools (reads back the two-factor QR code the browser draws, tests/e2e/).
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null \
			|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
		else \
			echo "Missing Debian packages:$$missing (sudo apt-get install$$missing); their tests will be skipped"; \
		fi; \
	fi

# lint-imports: the apps' layer order ([tool.importlinter] in pyproject.toml, docs/decisions.md).
lint: setup-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: setup-dev
	$(BIN)/mypy .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser client's modules under Node's own test runner (no npm install: nothing to fetch).
test-client: system-deps
	node --test tests/client/

# The client screenshots of docs/client.md (desktop and phone), from a real Haven and Chromium.
screenshots: setup-dev system-deps
	$(BIN)/python -m tests.e2e.screenshots docs/img

test: setup-dev system-deps lint typecheck test-client
	$(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks (not tests): docs/performance.md. They need PostgreSQL and Redis, and use the
# database <name>_live and the Redis DB eight away from BENCH_REDIS_URL's (both wiped).
# `make bench` takes about ten minutes on two cores: the whole send path (REST and WS, 100 and
# 500 receivers, a burst, CPU per request) with 1 and 2 processes, the publish-only fan-out,
# the reconnect storm and idle sockets, the Python calls of one request in one process, the
# instructions per request of a whole server process (under valgrind, if installed), then the
# machine: intermittent work and the kernel cost of a loopback write.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/haven_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
BENCH_ENV = DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL)
bench: setup-dev
	$(BENCH_ENV) $(BIN)/python bench/send_path.py --processes 1,2
	$(BENCH_ENV) $(BIN)/python bench/gateway_fanout.py --layers pubsub
	$(BENCH_ENV) $(BIN)/python bench/storm.py
	$(BENCH_ENV) $(BIN)/python bench/request_cost.py --calls
	@if command -v valgrind >/dev/null; then $(BENCH_ENV) $(BIN)/python bench/server_instructions.py; \
	else echo "valgrind is not installed: bench/server_instructions.py skipped"; fi
	$(BIN)/python bench/intermittency.py
	$(BIN)/python bench/loopback_floor.py

bench-rest: setup-dev
	$(BENCH_ENV) $(BIN)/python bench/rest_api.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
