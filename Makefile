# The two entry points of the README. Both create .venv when it is missing,
# so a fresh clone needs nothing but python3 (≥ 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test docs browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs,batch,serve,e2e,fuzz,vector]'
	touch $(STAMP)

## Install, then evaluate the example case on the shipped agreements.
run: $(STAMP)
	$(BIN)/millesime rulesets
	$(BIN)/millesime eval examples/generaliste-2024.yaml --on 2025-09-01
	$(BIN)/millesime explain examples/generaliste-2024.yaml annual_aid --on 2025-09-01

## Install, then run the whole test suite (what CI runs).
test: $(STAMP) browser
	$(BIN)/millesime check
	$(BIN)/millesime fmt --check
	$(BIN)/pytest

## Regenerate the legal-review pages (docs/) from the rulesets, then build the site into site/.
docs: $(STAMP)
	$(BIN)/millesime docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Best effort: headless Chromium for the site's rendering test, installed with apt-get
## when missing and running as root. Never fails: without it, that test is skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (headless rendering test of the docs)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
			|| echo "could not install chromium: the rendering test will be skipped"; \
	fi; true

## Best effort, same terms: Debian's chromium + chromium-driver for the simulator's end-to-end
## test (tests/test_web_e2e.py), which skips without them. Runs before `browser`.
browser: chromedriver
.PHONY: chromedriver
chromedriver:
	@if [ ! -x /usr/bin/chromedriver ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver (end-to-end test of the simulator page)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
			|| echo "could not install chromium-driver: the simulator's end-to-end test will be skipped"; \
	fi; true

clean:
	rm -rf $(VENV) site .pytest_cache
