# Two commands do all the set-up on a fresh machine with Python >= 3.11:
#   make run   - virtualenv, locked dependencies, demo firm, sync, the console on http://127.0.0.1:8501
#   make test  - the same install plus headless Chromium, the quality gate, then the whole test suite
#   make lint  - the quality gate alone: ruff format check, ruff lint, mypy (config in pyproject)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
SANDBOX_PORT ?= 8765

.PHONY: install run demo lint test bench browser clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the real-browser test and DejaVu fonts for charts and PDFs.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/dejavu ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

demo: install
	$(PY) -m oodaloo.cli demo --if-missing

# `make run` also serves the sandbox on loopback HTTP (QBO API, the QuickBooks connect flow and
# the demo users' sign-in at /oidc), writes a demo .streamlit/secrets.toml [auth] for it once
# (git-ignored), and stops the sandbox when the console stops.
run: install demo
	$(PY) -m oodaloo.cli access demo --secrets .streamlit/secrets.toml --port $(PORT) \
		--sandbox-url http://127.0.0.1:$(SANDBOX_PORT)
	@set -e; \
	$(PY) -m oodaloo.cli sandbox serve --host 127.0.0.1 --port $(SANDBOX_PORT) & SANDBOX=$$!; \
	trap 'kill $$SANDBOX 2>/dev/null' EXIT INT TERM; \
	OODALOO_QBO_BASE_URL=http://127.0.0.1:$(SANDBOX_PORT) \
	OODALOO_QBO_REDIRECT_URI=http://127.0.0.1:$(PORT)/ \
	$(PY) -m oodaloo.cli console --port $(PORT)

# The quality gate runs first: a formatting slip, a lint finding or a type error fails the build
# before the (long) test suite starts.
lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: install lint browser
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) data/*.duckdb* data/*.sqlite* data/cache data/digests
