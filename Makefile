# Two commands do all the set-up on a fresh machine with Python >= 3.11:
#   make run   - virtualenv, locked dependencies, demo firm, sync, the console on http://127.0.0.1:8501
#   make test  - the same install plus headless Chromium, then the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run demo test bench browser clean

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

run: install demo
	$(PY) -m oodaloo.cli sync --all
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address 127.0.0.1 \
		--server.headless true --browser.gatherUsageStats false

test: install browser
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) data/*.duckdb* data/*.sqlite* data/cache data/digests
