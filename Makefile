# The entry points of the README. Each creates .venv when it is missing and installs what it
# needs, so a fresh clone needs nothing but python3 (≥ 3.11) and make.
#   make run    Millésime alone (4 libraries), then the example case
#   make test   + every extra (test tools, docs, batch, serve, browser tests, Dask), then Chromium with
#               apt-get when running as root (`make browser`; BROWSER=no skips it), then the suite
PYTHON ?= python3
BROWSER ?= yes
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
ALL := $(VENV)/.installed-all

.PHONY: run test bytecode docs browser chromedriver announce-test clean fuzz-campaign

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the main job needs, and nothing else.
$(CORE): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Every extra: what the test suite exercises.
$(ALL): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,docs,batch,serve,e2e,fuzz,vector,distributed]'
	touch $@ $(CORE)

# Millésime's own modules compiled to bytecode: an editable install does not do it, and on a host
# that sets PYTHONDONTWRITEBYTECODE every process would compile them again — the CLI and each
# worker of a batch, ≈ 0.15 s apiece (bench/RESULTS.md). compileall skips what is up to date.
bytecode: | $(BIN)/python
	$(BIN)/python -m compileall -q engine dsl rulesets

## Install Millésime alone, then evaluate and explain the example case on the shipped agreements.
run: $(CORE) bytecode
	$(BIN)/millesime rulesets
	$(BIN)/millesime eval examples/generaliste-2024.yaml --on 2025-09-01
	$(BIN)/millesime explain examples/generaliste-2024.yaml annual_aid --on 2025-09-01 --depth 2

## Install the extras (and Chromium, see `browser`), then run the whole test suite (what CI runs).
test: announce-test $(ALL) bytecode browser
	$(BIN)/millesime check
	$(BIN)/millesime fmt --check
	$(BIN)/pytest

announce-test:
	@echo "make test : installe dans .venv Millésime et toutes ses options (outils de test, documentation,"
	@echo "calcul en masse, serveur, tests dans le navigateur) ; puis, si l'on est root et qu'ils manquent,"
	@echo "chromium et chromium-driver avec apt-get (étape « make browser » ; BROWSER=no pour s'en passer :"
	@echo "les tests qui en ont besoin sont alors sautés)."

## A long fuzzing run with a fresh seed (tests/fuzz/campaign.py): its figures go to docs/fiabilite.md.
fuzz-campaign: $(ALL)
	$(BIN)/python tests/fuzz/campaign.py

## Regenerate the legal-review pages (docs/) from the rulesets, then build the site into site/.
docs: $(ALL)
	$(BIN)/millesime docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Best effort: Debian's chromium (rendering test of the docs) and chromium-driver (end-to-end test
## of the simulator page, tests/test_web_e2e.py), installed with apt-get when missing and running
## as root. Never fails: without them, those tests are skipped with the reason.
browser: chromedriver
	@if [ "$(BROWSER)" != no ] && [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installation de chromium avec apt-get (test de rendu du site)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
			|| echo "chromium n'a pas pu être installé : le test de rendu sera sauté"; \
	fi; true

chromedriver:
	@if [ "$(BROWSER)" != no ] && [ ! -x /usr/bin/chromedriver ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installation de chromium et chromium-driver avec apt-get (test de bout en bout du simulateur)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
			|| echo "chromium-driver n'a pas pu être installé : le test de bout en bout du simulateur sera sauté"; \
	fi; true

clean:
	rm -rf $(VENV) site .pytest_cache
