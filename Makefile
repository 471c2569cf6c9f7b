# Two commands on a fresh machine (see README): `make run` and `make test`.
# Needs Python 3.11 with venv, and npm (front-end assets come from the npm registry, pinned by
# package-lock.json). System packages for tests: chromium, gdal-bin (.ci/run installs them).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= $(if $(CIMIC_DB),$(CIMIC_DB),data/cimic.duckdb)
PORT   ?= 8501
# Listen on loopback only. To serve a network on purpose: make run HOST=0.0.0.0 URL_HOST=<address
# users type in their browser> (Streamlit then checks browser origins against it, no outside lookups).
# Plain `=`: only the command line changes them, never a HOST variable some shells export.
HOST     = 127.0.0.1
URL_HOST = $(HOST)

.PHONY: run accounts serve test setup setup-test assets db lint bench clean

run: setup assets db accounts serve

# First start: when the store has no user account, create `admin` and print its one-time password.
accounts: $(VENV)/.stamp-req
	@$(BIN)/python -m cimic_geo users bootstrap --db "$(DB)"

# The server alone (what `make run` starts once the venv, assets and database are in place).
serve:
	CIMIC_DB="$(DB)" $(BIN)/streamlit run app.py --server.port $(PORT) --server.address $(HOST) \
		--browser.serverAddress $(URL_HOST)

test: setup-test assets
	$(BIN)/ruff check cimic_geo pages app.py tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.stamp-req

setup-test: $(VENV)/.stamp-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-req: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.stamp-test: requirements-test.txt $(VENV)/.stamp-req
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

# Offline map assets (Leaflet and plugins) from npm, copied to static/vendor for Streamlit's
# static file serving. Nothing is fetched at run time.
assets: static/vendor/.stamp

static/vendor/.stamp: package.json package-lock.json $(wildcard cimic_geo/maps/js/*.js) $(VENV)/.stamp-req
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m cimic_geo.maps.assets install
	touch $@

# The exercise database, created from the deterministic demo scenario when missing.
db: $(VENV)/.stamp-req
	@if [ ! -f "$(DB)" ]; then \
		echo "creating the EXERCISE demo database at $(DB)"; \
		$(BIN)/python -m cimic_geo seed --scale demo --db "$(DB)"; \
	fi

lint: setup-test
	$(BIN)/ruff check cimic_geo pages app.py tests bench

bench: setup-test assets
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache
