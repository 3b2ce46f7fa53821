# Tidings: `make run` serves a seeded demo; `make test` installs everything and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080
DEMO_DB ?= tidings-demo.db
DEMO_CONVERSATIONS ?= 5000
TIDINGS_BOOTSTRAP_APP_ID ?= demo-app-id
TIDINGS_BOOTSTRAP_APP_SECRET ?= demo-app-secret
TIDINGS_BOOTSTRAP_EMAIL ?= owner@tidings.example
DEMO_ENV := TIDINGS_BOOTSTRAP_APP_ID=$(TIDINGS_BOOTSTRAP_APP_ID) TIDINGS_BOOTSTRAP_APP_SECRET=$(TIDINGS_BOOTSTRAP_APP_SECRET) TIDINGS_BOOTSTRAP_EMAIL=$(TIDINGS_BOOTSTRAP_EMAIL)

.PHONY: install run test lint fmt postgres bench bench-shapes fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(DEMO_ENV) $(BIN)/tidings migrate --database sqlite:///$(DEMO_DB)
	$(DEMO_ENV) $(BIN)/tidings demo --database sqlite:///$(DEMO_DB) --conversations $(DEMO_CONVERSATIONS) --if-empty
	@echo "Demo app id: $(TIDINGS_BOOTSTRAP_APP_ID)   secret: $(TIDINGS_BOOTSTRAP_APP_SECRET)"
	$(DEMO_ENV) $(BIN)/tidings serve --database sqlite:///$(DEMO_DB) --host $(HOST) --port $(PORT)

postgres:
	bash scripts/ensure-postgres.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install postgres lint
	$(BIN)/pytest -n 2 -q -p no:cacheprovider

# Schemathesis over every operation with 80 examples each, on both databases (> 10,000 cases).
fuzz: install postgres
	rm -f .fuzz-cases
	TIDINGS_FUZZ_EXAMPLES=80 TIDINGS_FUZZ_COUNT_FILE=.fuzz-cases $(BIN)/pytest tests/fuzz -n 2 -q -p no:cacheprovider
	@awk '{n += $$1} END {print n " fuzz cases run"}' .fuzz-cases

# The benchmark at 1,000,000 conversations on SQLite and PostgreSQL; see bench/README.md.
bench: install postgres
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Many list and search shapes, one request at a time, on the benchmark's data; see bench/README.md.
bench-shapes: install postgres
	$(BIN)/python bench/shapes.py $(SHAPES_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
