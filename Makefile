# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck unit bench check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes, so a pulled dependency change is picked up.
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/coach start

lint: $(STAMP_DEV)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy bot flows knowledge storage tutoring tests bench

unit: $(STAMP_DEV)
	$(BIN)/pytest --cov --cov-report=term

test: lint typecheck unit

check: $(STAMP_RUN)
	$(BIN)/coach content check

bench: $(STAMP_DEV)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage
