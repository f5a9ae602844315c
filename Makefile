# medaid — `make run` and `make test` do all the setup on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: run test lint bench cases clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: settle the example cases and print the results
run: $(STAMP)
	@for f in examples/*.json; do echo "== $$f"; $(BIN)/medaid settle $$f || exit 1; done

## test: the project's tests, then the shared worked cases when ../shared is present
test: $(STAMP)
	$(BIN)/python -m pytest
	@if [ -x $(SHARED)/bin/check-cases ]; then \
		echo "== worked cases ($(SHARED)/cases/public)"; \
		MEDAID=$(BIN)/medaid $(SHARED)/bin/check-cases; \
	else echo "== $(SHARED)/bin/check-cases not present: worked cases skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
