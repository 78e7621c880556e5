# Suivi QPV — quick start: `make run` then `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The database: DB=… on the command line, else $SUIVI_DB (what the app reads), else the file.
DB ?= $(or $(SUIVI_DB),data/suivi.duckdb)
PORT ?= 8501
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test install install-dev db db-server lint bench clean chromium postgresql

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEVSTAMP): requirements-dev.txt requirements.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

# The embedded store is a file built once; a PostgreSQL URL (DB=postgresql://…) is built by
# `init --si-absente` when it holds no schema yet.
ifeq ($(findstring ://,$(DB)),)
DBTARGET := $(DB)
$(DB): | $(STAMP)
	$(BIN)/python -m etl --db $(DB) init
else
DBTARGET := db-server
db-server: | $(STAMP)
	$(BIN)/python -m etl --db "$(DB)" init --si-absente
endif

db: $(DBTARGET)

run: $(STAMP) $(DBTARGET)
	SUIVI_DB="$(DB)" $(BIN)/python -m suivi.web.serve --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@{ test -x /usr/bin/chromium && test -d /usr/share/fonts/truetype/noto; } || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium fonts-noto-color-emoji >/dev/null; }

# Debian's PostgreSQL server binaries for the PostgreSQL-backend tests: tests/pgserver.py starts
# a throwaway server from them (initdb + pg_ctl in a temporary folder, free port).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends postgresql >/dev/null; }

test: $(DEVSTAMP) chromium postgresql
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n auto --dist worksteal

lint: $(DEVSTAMP)
	$(BIN)/ruff check .

bench: $(DEVSTAMP) postgresql
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tests/artifacts bench/data
