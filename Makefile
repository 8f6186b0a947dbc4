# TorchCanvas. The two commands: `make run` (serve the site) and `make test` (run the suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where `make run` serves; change on the command line: `make run HOST=0.0.0.0 PORT=9000`.
HOST = 127.0.0.1
PORT = 8000
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k registry -x"`.
PYTEST_ARGS ?=
# The suite runs again on PostgreSQL (the tests that touch the database) when this is non-empty:
# DATABASE_URL_TEST_PG=postgres://... names the server; CI=true alone uses the local one.
PG_TEST_URL := $(or $(DATABASE_URL_TEST_PG),$(if $(filter-out 0 false,$(CI)),postgres://postgres@127.0.0.1:5432/torchcanvas))

STAMP := $(VENV)/.installed-stamp

.PHONY: help install frontend run test lint format bench

help:
	@echo "make run    serve TorchCanvas on http://$(HOST):$(PORT)/ (make run HOST=... PORT=... to change)"
	@echo "make test   run the test suite (SQLite; then PostgreSQL too when CI or DATABASE_URL_TEST_PG is set)"
	@echo "make lint   ruff check + ruff format --check, and the canvas's typecheck + ESLint (React hooks rules)"
	@echo "make format ruff format + ruff check --fix"
	@echo "make bench  run the benchmarks (tests/bench) and write docs/benchmarks.md"

install: $(STAMP)

# The lock (constraints.txt) pins everything, torch included (the CPU build), so installs are repeatable.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# frontend/ built by Vite into static/dist/: the canvas island (React + React Flow) and the run pages' script
# (src/runpages/, sharing src/lib/ with the canvas's run panel). npm installs exactly
# what package-lock.json says, again only when the lock changes; Vite rebuilds only when a source changed.
# Its files are named by their content, so Vite's manifest (which the pages read to find them) is the stamp.
NPM_STAMP := frontend/node_modules/.installed-stamp
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/vite.config.ts frontend/tsconfig.json
CANVAS_MANIFEST := static/dist/.vite/manifest.json

frontend: $(CANVAS_MANIFEST)

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null || { echo "The canvas needs Node.js 20.19+ and npm (apt-get install nodejs npm)." >&2; exit 1; }
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CANVAS_MANIFEST): $(NPM_STAMP) $(FRONTEND_SOURCES)
	cd frontend && npm run --silent build -- --logLevel warn
	@touch $@

run: install frontend
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_user
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@# Runs of the previous server (embedded mode runs them in-process) died with it: mark them failed.
	$(BIN)/python manage.py sweep_runs --server-start
	@echo
	@echo "  TorchCanvas is starting on  http://$(HOST):$(PORT)/"
	@echo "  Log in with                 demo / demo"
	@echo "  API docs                    http://$(HOST):$(PORT)/api/docs/"
	@echo "  Stop with Ctrl-C."
	@echo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install frontend
	cd frontend && npm test --silent
	$(PYTEST) -q $(PYTEST_ARGS)
ifneq ($(PG_TEST_URL),)
	@echo "--- the database tests again, on PostgreSQL ($(PG_TEST_URL))"
	DATABASE_URL='$(PG_TEST_URL)' $(PYTEST) -q --db-only $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: no database tests selected
endif

lint: install $(NPM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd frontend && npm run --silent typecheck
	cd frontend && npm run --silent lint

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks write their report to $TORCHCANVAS_BENCH_REPORT.
bench: install frontend
	@if [ -d tests/bench ]; then \
		TORCHCANVAS_BENCH_REPORT=docs/benchmarks.md $(PYTEST) -q -m bench tests/bench; \
	else \
		echo "No benchmarks yet (tests/bench/ does not exist)."; \
	fi
