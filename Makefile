# The two commands of README.md: `make run` (install, ingest, serve) and `make test`.
# Everything is installed from this repository's own files into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dictionary run ingest serve test browser bench eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) dictionary

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

# Debian chromium for the widget and search page tests (Playwright drives it; `playwright
# install` cannot download browsers here), and a font with German umlauts for it to render.
BROWSER_PACKAGES := chromium fonts-dejavu-core
browser:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing $(BROWSER_PACKAGES) with apt-get (about a minute)"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
	  || { echo "could not install $(BROWSER_PACKAGES); install them as root: apt-get install chromium fonts-dejavu-core"; exit 1; }; }
	@chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 \
	  || { echo "chromium is installed but does not start headless; run: chromium --headless --no-sandbox about:blank"; exit 1; }

test: install browser
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

clean:
	rm -rf $(VENV) .models vectorstore/index test-artifacts
