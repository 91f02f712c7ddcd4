# The two commands of README.md: `make run` (install, ingest, serve) and `make test`.
# Everything is installed from this repository's own files into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dictionary run ingest serve test browser bench eval clean lock

# Every dependency comes from a lock file that pins its version and its files' SHA-256
# hashes (pip refuses anything else). A lock is the whole closure, so pip installs it as it
# stands (--no-deps: no resolving, which an extra such as `lxml[html_clean]` would send to the
# newest release on the index) and `pip check` proves nothing is missing. The project itself
# is installed without dependencies and built with the locked setuptools. The ranges stay in pyproject.toml; `make lock`
# refreshes the locks from them (README.md, "Dependency locks").
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
TEST_STAMP := $(VENV)/.installed-test
# Where pip finds the CPU build of torch if this machine does not keep it (PyPI has none), e.g.
# make install PIP_INDEX_ARGS='--extra-index-url <PyTorch CPU index, as in the Dockerfile>'
PIP_INDEX_ARGS ?=

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps $(PIP_INDEX_ARGS) -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

# The test tools, locked the same way (the test lock holds the runtime pins too).
$(TEST_STAMP): $(STAMP) $(TEST_LOCK)
	$(BIN)/pip install --quiet --require-hashes --no-deps $(PIP_INDEX_ARGS) -r $(TEST_LOCK)
	$(BIN)/pip check
	touch $(TEST_STAMP)

install: $(STAMP) dictionary

# Re-resolve both locks from pyproject.toml (needs PyPI). Versions already locked are kept
# unless pyproject.toml needs others; `make lock UPGRADE=--upgrade` takes the newest allowed.
# PyPI has no CPU build of torch (its torch wheels for Linux are the CUDA build, and it
# refuses local versions such as 2.13.0+cpu), so the CPU wheel is looked up in
# TORCH_CPU_WHEELS: a folder of wheels or PyTorch's CPU index page.
TORCH_CPU_WHEELS ?= /opt/wheels
LOCK_TOOLS := $(VENV)/lock-tools
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile --quiet pyproject.toml - --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --find-links $(TORCH_CPU_WHEELS) --custom-compile-command 'make lock' $(UPGRADE)
lock:
	test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet 'uv==0.13.9'; }
	echo 'setuptools>=77' | $(UV_COMPILE) --extra test -o $(TEST_LOCK)
	echo 'setuptools>=77' | $(UV_COMPILE) --constraint $(TEST_LOCK) -o $(LOCK)

# Ding's English-German dictionary (Debian trans-de-en) for the keyword side of English
# questions (service/translation.py). Without it the service runs, with weaker English search.
DICTIONARY_PACKAGES := trans-de-en
dictionary:
	@dpkg -s $(DICTIONARY_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing $(DICTIONARY_PACKAGES) with apt-get"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DICTIONARY_PACKAGES) >/dev/null \
	  || echo "WARNING: could not install $(DICTIONARY_PACKAGES) (run as root: apt-get install trans-de-en); English questions will be searched without dictionary translations"; }

ingest: install
	$(BIN)/tagungsbot ingest

serve: install
	$(BIN)/tagungsbot serve

run: ingest serve

# axe-core from npm (pinned by tests/package-lock.json) for the accessibility checks of the
# browser tests; npm comes from Debian if the machine has none.
AXE := tests/node_modules/axe-core/axe.min.js
$(AXE): tests/package.json tests/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing npm with apt-get"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null \
	  || { echo "could not install npm; install it as root: apt-get install npm"; exit 1; }; }
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

# Debian chromium for the widget and search page tests (Playwright drives it; `playwright
# install` cannot download browsers here), and a font with German umlauts for it to render.
BROWSER_PACKAGES := chromium fonts-dejavu-core
browser: $(AXE)
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing $(BROWSER_PACKAGES) with apt-get (about a minute)"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
	  || { echo "could not install $(BROWSER_PACKAGES); install them as root: apt-get install chromium fonts-dejavu-core"; exit 1; }; }
	@chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 \
	  || { echo "chromium is installed but does not start headless; run: chromium --headless --no-sandbox about:blank"; exit 1; }

test: install $(TEST_STAMP) browser
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

clean:
	rm -rf $(VENV) .models vectorstore/index test-artifacts tests/node_modules
