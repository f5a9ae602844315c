# medaid — `make run` and `make test` do all the setup on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: run examples test lint bench reforms cases screenshots reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the settlement service on a demo database (SQLite) at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/medaid db upgrade
	$(BIN)/medaid demo
	$(BIN)/medaid serve --host 127.0.0.1 --port 8000 --docs

## examples: settle the example cases and print the results
examples: $(STAMP)
	@for f in examples/*.json; do echo "== $$f"; $(BIN)/medaid settle $$f || exit 1; done

## test: the project's tests on TEST_WORKERS processes, then the shared worked cases when
## ../shared is present; the long runs need MEDAID_TEST_FULL=1 (CI sets it), PostgreSQL
## MEDAID_TEST_POSTGRES_URL: the run ends by saying what it skipped and how to enable it
## (compiled: each test process imports the package and the assertion-rewritten tests, so
## they are compiled once into __pycache__ even where PYTHONDONTWRITEBYTECODE is set)
TEST_WORKERS ?= auto
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS)
	@if [ -x $(SHARED)/bin/check-cases ]; then \
		echo "== worked cases ($(SHARED)/cases/public, $(SHARED)/cases/amended)"; \
		MEDAID=$(BIN)/medaid $(SHARED)/bin/check-cases $(SHARED)/cases/public \
			$(wildcard $(SHARED)/cases/amended); \
	else echo "== $(SHARED)/bin/check-cases not present: worked cases skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: engine throughput, the batch path against the engine and DuckDB, `simulate`
## streaming 20 million visits (time, peak memory), then the API over HTTP on SQLite and
## PostgreSQL, then bulk re-settlement of a million visits in PostgreSQL
bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/bench_stream.py
	pg="$${MEDAID_TEST_POSTGRES_URL:-$$(bash .ci/postgres.sh 2>/dev/null || true)}"; \
		$(BIN)/python bench/bench_api.py --postgres "$$pg" && \
		$(BIN)/python bench/bench_resettle.py --postgres "$$pg"

## reforms: the report of each reform in reforms/ on a generated year of its jurisdiction,
## into out/reforms/NAME/ (report.md, report.html, report.xlsx, charts)
REFORM_PERSONS ?= 20000
REFORM_YEAR ?= 2023
REFORM_SEED ?= 5
reforms: $(STAMP)
	@set -e; mkdir -p out/reforms/data; \
	for r in reforms/*.yaml; do \
		name=$$(basename $$r .yaml); j=$$(sed -n 's/^policy: *//p' $$r); \
		data=out/reforms/data/$$j-$(REFORM_YEAR)-$(REFORM_PERSONS)-$(REFORM_SEED).parquet; \
		echo "== $$r ($$j)"; \
		test -f $$data || $(BIN)/medaid synth --jurisdiction $$j --persons $(REFORM_PERSONS) \
			--year $(REFORM_YEAR) --seed $(REFORM_SEED) --out $$data; \
		$(BIN)/medaid simulate $$data --policy $$j --reform $$r --report-dir out/reforms/$$name; \
	done

## screenshots: PNGs of each page at 1366×768 on the demo data, into out/screenshots/
## (Debian's chromium: `apt-get install chromium fonts-noto-cjk`)
screenshots: $(STAMP)
	$(BIN)/python -m medaid.demo.screenshots --out out/screenshots

## reliability: the long reliability runs, each printing its figures (docs/RELIABILITY.md):
## a soak of 200 clients for 10 minutes on PostgreSQL, 10,000 settlements through 20
## SIGKILLs of the server and a PostgreSQL crash, the cap race across 4 processes (20
## rounds), the roster fuzzer for 5 minutes; exit 1 if any of them fails
SOAK_CLIENTS ?= 200
SOAK_SECONDS ?= 600
CRASH_SETTLEMENTS ?= 10000
CRASH_KILLS ?= 20
RACE_ROUNDS ?= 20
FUZZ_SECONDS ?= 300
reliability: $(STAMP)
	@pg="$${MEDAID_TEST_POSTGRES_URL:-$$(bash .ci/postgres.sh)}"; failed=0; \
	echo "== $$(nproc) CPUs, load average $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	$(BIN)/python reliability/soak.py --postgres "$$pg" --clients $(SOAK_CLIENTS) \
		--seconds $(SOAK_SECONDS) || failed=1; \
	$(BIN)/python reliability/crash.py --settlements $(CRASH_SETTLEMENTS) \
		--kills $(CRASH_KILLS) || failed=1; \
	$(BIN)/python reliability/cap_race.py --postgres "$$pg" --rounds $(RACE_ROUNDS) || failed=1; \
	mkdir -p out/fuzz; echo "== roster fuzzer, $(FUZZ_SECONDS) s (failing inputs: out/fuzz/)"; \
	$(BIN)/python reliability/fuzz_roster.py -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=out/fuzz/ -print_final_stats=1 > out/fuzz/log 2>&1 || failed=1; \
	grep -av 'INFO: Instrumenting\|NEW \|REDUCE \|pulse ' out/fuzz/log | tail -n 30; \
	echo "== load average at the end $$(cut -d' ' -f1-3 /proc/loadavg)"; exit $$failed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache .grimp_cache
