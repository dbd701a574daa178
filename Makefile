# Two commands on a fresh machine:  make repro  |  make test
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup repro test bench report clean

# The install is redone when pyproject.toml changes; torch is pinned there (CPU build).
# uv installs in about half pip's time. It reads no pip configuration, so it is handed the
# local wheel directory pip is pointed at (PIP_FIND_LINKS, where the CPU build of torch
# lies), and byte-compiles up front, since PYTHONDONTWRITEBYTECODE may forbid doing it on
# import. Should uv fail, pip does the same install.
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),)
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==0.13.9
	$(BIN)/uv pip install -q --python $(BIN)/python $(FIND_LINKS) --compile-bytecode -e '.[test]' \
	  || $(BIN)/python -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

repro: setup
	dvc repro

test: setup
	ruff check src stages tests scripts
	ruff format --check src stages tests scripts
	mypy
	lint-imports
	python -m pytest -q

report: setup
	python scripts/report_html.py

bench: setup
	python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
