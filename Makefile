# plume-fleet: the commands a user and CI run. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.plume-fleet-installed

.DEFAULT_GOAL := help
.PHONY: help venv pulumi-cli lab test lint typecheck unit destroy refresh preview emulator emulator-stop bench mutate clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.txt
	@scripts/venv.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the project with its test tools and the emulator

pulumi-cli: ## Build the pinned Pulumi CLI from Go modules into .tools/pulumi/bin (needs Go)
	@scripts/pulumi-cli.sh

lab: ## Start the emulator and run `pulumi up` on the lab stack (finds or builds the Pulumi CLI)
	@scripts/lab.sh up

destroy: ## Run `pulumi destroy` on the lab stack
	@scripts/lab.sh destroy

refresh: ## Run `pulumi refresh` on the lab stack
	@scripts/lab.sh refresh

preview: ## Run `pulumi preview` on the lab stack
	@scripts/lab.sh preview

emulator: $(STAMP) ## Run the Plume Cloud emulator in the foreground on 127.0.0.1:8765
	$(PY) -m plume_emulator --port $${LAB_PORT:-8765} --db $${LAB_DIR:-.lab}/plume.sqlite

emulator-stop: ## Stop the emulator that `make lab` started in the background
	@scripts/lab.sh stop-emulator

lint: $(STAMP) ## ruff lint and format check, and the layer contracts (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

typecheck: $(STAMP) ## mypy (strict)
	$(VENV)/bin/mypy

unit: $(STAMP) ## pytest only (builds the pinned Pulumi CLI first when Go is there; exit 5 fails)
	@if command -v go >/dev/null 2>&1; then scripts/pulumi-cli.sh; fi
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi; exit $$rc

test: lint typecheck unit ## The whole check: lint, types and every test

BENCH_ARGS ?= --with-2000 --rate-limited --skip-checkpoints --parallel-sweep 2,4,16,32 --pilot-modes checkpointed,skipped --checkpoint-sizes 500 2000

bench: $(STAMP) ## Benchmark on the real CLI vs direct httpx, every figure beside its target, checkpointed vs skipped (over an hour: the checkpointed 2,000 is CPU-bound; BENCH_ARGS="--sizes 100 --latencies 50" for a quick run; add --write-docs to update docs/performance.md)
	$(VENV)/bin/pip install -q -e '.[bench,emulator,redis,discover]'
	$(PY) bench/provision.py $(BENCH_ARGS)

mutate: $(STAMP) ## Mutation testing of the paths that can lose a household (mutmut; slow, see docs/testing.md)
	$(VENV)/bin/pip install -q -e '.[mutate,emulator,redis,discover]'
	$(PY) scripts/mutate.py

clean: ## Remove the venv and lab state
	rm -rf $(VENV) .lab .mypy_cache .ruff_cache .pytest_cache mutants
