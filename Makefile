# lrnas: `make help` lists every target.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: help install test train smoke bench lint format table mutation clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

install: ## create .venv and install lrnas (editable) with test tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade -q pip
	$(BIN)/pip install -q -e '.[dev]'

test: ## run the test suite (the CI command)
	$(BIN)/python -m pytest -q

train: ## train on real CIFAR-10 with the CPU preset; pass overrides with ARGS='...'
	$(BIN)/lrnas train experiment=cpu $(ARGS)

smoke: ## one tiny end-to-end run on synthetic data (< 1 min)
	$(BIN)/lrnas train experiment=smoke $(ARGS)

bench: ## speed vs xautodl's NB201 super-net, regularizer overhead, eval and table load (installs xautodl, bench-only)
	$(BIN)/pip install -q --no-deps xautodl  # its metadata pins numpy<=1.19.5; its models run fine without it
	$(BIN)/python scripts/bench.py $(ARGS)

lint: ## static checks
	$(BIN)/ruff check lrnas tests scripts

format: ## auto-fix lint and sort imports
	$(BIN)/ruff check --fix lrnas tests scripts

table: ## regenerate the shipped NB201 and NB101 ground-truth tables from ../shared/data (NB101: ~2 min)
	$(BIN)/python scripts/build_nb201_table.py
	$(BIN)/python scripts/build_nb101_table.py

mutation: ## mutation testing (mutmut; not CI) of landmarks/, evaluation/, training.py, reporting/, search/. MUTANTS='lrnas.evaluation.metrics*' narrows it (114 of 2,024 mutants, 11 min here); all 2,024: not run (hours on 2 cores)
	$(BIN)/pip install -q 'mutmut>=3.3,<4'
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

clean: ## remove caches and build artefacts (keeps outputs/ and .venv)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache mutants
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
