# livingcircle: a newcomer needs two targets.
#   make demo   load the built-in Helsinki sample and write livingcircle-demo.html (no database)
#   make test   install everything the tests need (PostGIS and Chromium included) and run them
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast lint typecheck bench postgis clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/livingcircle demo --out livingcircle-demo.html

# PostGIS for the tests: installs the Debian package if missing, starts the cluster if down,
# creates a throwaway role and database; a quick no-op once done.
postgis:
	bash scripts/ensure-postgis.sh

test: install postgis
	LC_REQUIRE_POSTGIS=1 $(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not postgis and not browser and not slow"

lint: install
	$(BIN)/ruff check geo data api maps livingcircle tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache livingcircle-demo.html
