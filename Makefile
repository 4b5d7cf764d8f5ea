# Quick start: `make demo` and `make test` work on a fresh machine with Python 3.10+, pip and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.somnomyo-installed
EXTRAS ?= plot,cohort,mne,staging,dev,review

DOCS_STAMP := $(VENV)/.somnomyo-docs-installed

.PHONY: demo test install bench lint format clean docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/somnomyo demo --out demo-output

test: $(STAMP)
	$(PY) -m pytest

# ruff (lint + format check) and mypy, configured in pyproject.toml; the same checks as .pre-commit-config.yaml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The documentation site (Sphinx, offline, warnings are errors) into docs/_build/html; the `docs` extra.
$(DOCS_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(STAMP) $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info src/*.egg-info .pytest_cache
	rm -rf docs/_build docs/_generated docs/generated docs/auto_examples
