# digiden — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install db serve bench lint clean screenshots search-eval

$(BIN)/digiden: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/digiden

## Database: apply migrations, then load reference data (idempotent).
db: install
	$(BIN)/digiden db upgrade
	$(BIN)/digiden db init

## Run the product: venv, install, database, reference data, web app on http://$(HOST):$(PORT)
run: db
	$(BIN)/digiden serve --host $(HOST) --port $(PORT)

## Run the whole test suite (SQLite and PostgreSQL), after lint and strict typing, on TEST_WORKERS
## processes (pytest-xdist; each has its own databases; a module stays on one worker). It includes
## the browser suite (tests/browser: axe-core and phone widths in Debian's headless chromium;
## skipped without chromium unless CI=true, when it fails instead).
TEST_WORKERS ?= 2
test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope

## Benchmarks on synthetic national-scale data (about 20 minutes on 2 cores): imports, dashboard, search,
## similarity, concurrent writers, HTTP throughput against Datasette (wrk from apt, Datasette in bench/out),
## then the PostgreSQL import of the same 5.4M-row file against psql \copy (needs psql; skipped without).
bench: install
	@command -v sqlite3 >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq sqlite3 >/dev/null 2>&1; } || \
	  echo "note: the sqlite3 command is missing; the floor reference will be skipped"
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null 2>&1; } || \
	  echo "note: wrk is missing; the HTTP step falls back to a slower Python load generator"
	$(BIN)/python bench/run.py
	@if command -v psql >/dev/null 2>&1; then PYTHONPATH=src $(BIN)/python bench/import_pg.py; \
	  else echo "note: psql is missing; the PostgreSQL import step is skipped"; fi

## Search quality: nDCG@10 and MRR of tests/search_eval/queries.yaml on a fresh SQLite database
## (add PG=1 for PostgreSQL at 127.0.0.1:5432, database test).
search-eval: install
	$(BIN)/python -m tests.search_eval.evaluate $(if $(PG),--url postgresql+psycopg://postgres@127.0.0.1:5432/test)

## The screenshots in docs/images (dashboard, KPI page, strategy form at 1280 and 375 px, and the
## pages the docs show), taken by the browser suite from synthetic demo data. Needs chromium.
screenshots: install
	CI=true DIGIDEN_SCREENSHOTS=docs/images $(BIN)/python -m pytest -q -n 0 tests/browser/test_screenshots.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache
