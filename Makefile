# livingcircle: a newcomer needs two targets.
#   make demo   load the built-in Helsinki sample and write livingcircle-demo.html (no database)
#   make test   install everything the tests need (PostGIS and Chromium included) and run them
#   make docs   the API reference, from the docstrings, into build/docs (warnings are errors)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LEAFLET := maps/assets/node_modules/leaflet/dist/leaflet.js

.PHONY: install assets demo test test-fast lint typecheck docs bench bench-gaps postgis browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Leaflet for offline maps, from the npm registry into maps/assets/node_modules (not committed).
$(LEAFLET): maps/assets/package.json
	cd maps/assets && npm install --no-package-lock --no-audit --no-fund --silent
	touch $@

assets: $(LEAFLET)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser:
	bash scripts/ensure-chromium.sh

demo: install
	-$(MAKE) --no-print-directory assets
	$(BIN)/livingcircle demo --out livingcircle-demo.html

# PostGIS for the tests: installs the Debian package if missing, starts the cluster if down,
# creates a throwaway role and database; a quick no-op once done.
postgis:
	bash scripts/ensure-postgis.sh

# -E: the CLI page is generated from the commands, so every build reads every page afresh
docs: install
	$(BIN)/sphinx-build -E -W --keep-going -b html docs build/docs

test: install assets browser postgis lint
	LC_REQUIRE_POSTGIS=1 $(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not postgis and not browser and not slow"

lint: install
	$(BIN)/ruff check geo data api maps livingcircle tests bench docs setup.py
	$(BIN)/ruff format --check geo data api maps livingcircle tests bench docs setup.py
	MYPY=$(CURDIR)/$(BIN)/mypy bash scripts/typecheck.sh

typecheck: install
	MYPY=$(CURDIR)/$(BIN)/mypy bash scripts/typecheck.sh

bench: install
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_api.py

# the planner analysis against pandana (installed here, only for this benchmark)
bench-gaps: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_gaps.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache livingcircle-demo.html maps/assets/node_modules \
	    build dist
