# Two commands on a fresh machine:  make repro  |  make test
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup repro test bench report clean

# The install is redone when pyproject.toml changes; torch is pinned there (CPU build).
# --no-compile: modules are byte-compiled when first imported, not all of them up front.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	touch $@

setup: $(VENV)/.installed

repro: setup
	dvc repro

test: setup
	ruff check src stages tests scripts
	ruff format --check src stages tests scripts
	mypy
	python -m pytest -q

report: setup
	python scripts/report_html.py

bench: setup
	python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
