# Two commands do everything on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test lint typecheck unit demo soak bench clean

$(STAMP): pyproject.toml scripts/setup
	bash scripts/setup $(VENV)
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

## The whole test suite, as CI runs it (.ci/run): lint, types, unit and integration tests.
test: lint typecheck unit

## The main job on the embedded default (SQLite, demo sources, reference hub).
demo: setup
	$(BIN)/python -m adapter.demo

## Slow soak runs, kept out of `make test`.
soak: setup
	$(BIN)/pytest -m slow

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .mypy_cache .ruff_cache
