# The two entry points of the README. Both create .venv when it is missing,
# so a fresh clone needs nothing but python3 (≥ 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

## Install, then evaluate the example case on the shipped agreements.
run: $(STAMP)
	$(BIN)/millesime rulesets
	$(BIN)/millesime eval examples/generaliste-2024.yaml --on 2025-09-01
	$(BIN)/millesime explain examples/generaliste-2024.yaml annual_aid --on 2025-09-01

## Install, then run the whole test suite (what CI runs).
test: $(STAMP)
	$(BIN)/millesime check
	$(BIN)/pytest

clean:
	rm -rf $(VENV) site .pytest_cache
