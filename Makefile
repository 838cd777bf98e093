# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
DEMO_ENTITIES ?= 20000
export UV_LINK_MODE := copy
# Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set (as here and in CI) every process
# would otherwise compile every imported module again (about 9 s per `entity-lakehouse run`).
export UV_COMPILE_BYTECODE := 1

.PHONY: run test bench ui demo uv clean system-packages

uv:  ## install uv with pip when it is missing (a machine with only Python 3.11 and make)
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

.venv/.synced: uv.lock pyproject.toml Makefile | uv
	$(UV) sync --frozen --all-extras
	@touch $@

system-packages:  ## a CJK font and pango for the reports' charts and PDF, when missing (apt-get)
	@.ci/system-packages

run: .venv/.synced system-packages  ## demo landing data if data/landing is empty, then the whole consolidation
	@if [ -z "$$(ls -A data/landing 2>/dev/null)" ]; then \
		$(UV) run --frozen entity-lakehouse demo --entities $(DEMO_ENTITIES) --out data/landing; fi
	$(UV) run --frozen entity-lakehouse run

# Three workers on two cores: while one waits (a subprocess run, the Spark JVM, a shared run another worker
# builds) the other two keep both cores busy (measured: 9 min 43 s of pytest with -n 2, 8 min 41 s with -n 3).
test: .venv/.synced  ## lint and format check (ruff), then the suite (installs its system packages when missing)
	@.ci/system-packages --browser
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen pytest -n 3 --dist loadgroup

bench: .venv/.synced system-packages  ## loads at 100k and 1.5M, 30 nights at 1.5M, a year of nights at 20k (hours)
	$(UV) run --frozen python -m benchmarks
	$(UV) run --frozen python -m benchmarks.nights --entities 1500000 --nights 30 --rebuild-check
	$(UV) run --frozen python -m benchmarks.nights --entities 20000 --nights 365 --maintenance-every 7
	$(UV) run --frozen python -m benchmarks.nights --entities 20000 --nights 365 --out data/bench/no-maintenance

ui: .venv/.synced  ## the Dagster UI over the same instance `make run` records into
	$(UV) run --frozen entity-lakehouse ui

clean:  ## everything `make run` generated (not the code, not the lock file)
	rm -rf data/lake data/warehouse data/dagster_home data/landing data/ground_truth data/bench
