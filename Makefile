# Two commands on a fresh machine:  make repro  |  make test
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
LOCK   := requirements.lock
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup repro sensitivity study test bench report screenshot clean lock lock-check verify pilot

# The environment is installed from requirements.lock: exact versions, with hashes, of every
# package the pipeline and the tests install, torch 2.13.0+cpu among them (README,
# "Environment"). It is reinstalled when the lock or pyproject.toml changes, and refused
# while the lock is out of date with pyproject.toml (`make lock` remakes it).
# uv installs in about half pip's time. It reads no pip configuration, so it is handed the
# local wheel directory pip is pointed at (PIP_FIND_LINKS, where the CPU build of torch
# lies), and byte-compiles up front, since PYTHONDONTWRITEBYTECODE may forbid doing it on
# import. The project goes in editable, without dependencies and without build isolation,
# so that its build, too, uses the locked setuptools and wheel. Should uv fail, pip does
# the same install.
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),)
ENV_TOOL   := $(BIN)/python -P src/imbcl/core/environment.py
UV_INSTALL := $(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode
PIP_INSTALL := $(BIN)/python -m pip install -q

# A venv copied or moved here from another clone still names that clone in its editable
# install and in its scripts' #! lines, so it would run the other clone's code: it is removed
# when the makefile is read, and made again by the rules below.
VENV_ELSEWHERE := $(shell test -f $(VENV)/.installed && { \
	  src=$$(head -1 $(VENV)/lib/python*/site-packages/__editable__.imbcl-*.pth 2>/dev/null); \
	  bang=$$(head -1 $(BIN)/dvc 2>/dev/null | sed 's/^\#!//'); \
	  [ "$$(cd "$$src" 2>/dev/null && pwd -P)" = "$$(pwd -P)/src" ] \
	  && [ "$$(cd "$${bang%/*}" 2>/dev/null && pwd -P)" = "$$(cd $(BIN) && pwd -P)" ] \
	  || echo "$${src%/src}"; })
ifneq ($(VENV_ELSEWHERE),)
$(info make: $(VENV) was made for $(VENV_ELSEWHERE); removing it to make it again here)
$(shell rm -rf $(VENV))
endif

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==0.13.9

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/uv
	$(ENV_TOOL) check-lock $(LOCK) pyproject.toml
	( $(UV_INSTALL) $(FIND_LINKS) --require-hashes -r $(LOCK) \
	  && $(UV_INSTALL) --no-deps --no-build-isolation -e . ) \
	|| ( $(PIP_INSTALL) --require-hashes -r $(LOCK) \
	  && $(PIP_INSTALL) --no-deps --no-build-isolation -e . )
	touch $@

setup: $(VENV)/.installed

# Remakes the lock from pyproject.toml (its dependencies, the test extra and the build
# requirements) for CPython 3.11 on x86_64 Linux, and stamps it with the requirement lists
# it was made from. Versions already locked are kept while they satisfy pyproject.toml;
# `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package numpy`) moves them. torch's CPU
# build is found only in the local wheel directory, so PIP_FIND_LINKS must name it.
LOCK_ARGS ?=
UV_COMPILE = $(ENV_TOOL) build-requires pyproject.toml \
	| $(BIN)/uv pip compile -q pyproject.toml - --extra test --generate-hashes $(FIND_LINKS) \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command 'make lock' $(LOCK_ARGS)

lock: | $(BIN)/uv
	@test -n "$(PIP_FIND_LINKS)" \
	  || { echo "make lock: PIP_FIND_LINKS must name the directory of torch's CPU wheel" >&2; exit 2; }
	$(UV_COMPILE) -o $(LOCK)
	$(ENV_TOOL) stamp $(LOCK) pyproject.toml

# Whether `make lock` writes the committed lock again (resolves over the network).
lock-check: | $(BIN)/uv
	cp $(LOCK) $(VENV)/lock-check.txt
	$(UV_COMPILE) -o $(VENV)/lock-check.txt
	$(ENV_TOOL) stamp $(VENV)/lock-check.txt pyproject.toml
	diff -u $(LOCK) $(VENV)/lock-check.txt && echo "$(LOCK) is what make lock writes"

# longtail_source is forced first: the data under real.root live outside DVC, so it hashes
# them again (one read); longtail_data reruns only when the manifest changed.
repro: setup
	dvc repro --force --single-item longtail_source
	dvc repro

# The second pipeline (sensitivity/dvc.yaml): the sensitivity map of Algorithm 1, longer than
# the default pipeline's budget; its reports are committed.
sensitivity: setup
	dvc repro sensitivity/dvc.yaml

# The race behind C2 (study/dvc.yaml): the race index, pre-registered in params (race), its
# grid over ramp, bias, init, lr, rho and steps at two sizes, and the two-scale oracle; its
# reports are committed.
study: setup
	dvc repro study/dvc.yaml

test: setup
	ruff check src stages tests scripts
	ruff format --check src stages tests scripts
	mypy
	lint-imports
	python -m pytest -q

# The rounding check: the claim-deciding stages again with the other gradient backend, into
# runs/verify/; writes reports/tables/verify.{md,csv} (per claim: both verdicts, whether the
# pooled intervals overlap). Needs the pipeline's outputs (make repro) first.
verify: setup
	python verify/verify.py

# The pilot behind the seed counts: the claim-deciding stages on 4 seeds disjoint from both
# replication blocks, into runs/pilot/; writes reports/tables/pilot.{md,csv} (per claim
# statistic: the per-seed s.d. and the seeds per block it asks for).
pilot: setup
	python verify/pilot.py

report: setup
	python scripts/report_html.py

# The HTML report in headless Chromium (apt-get install chromium): reports/report.png, and a
# check that no Markdown leaked into the rendered text and that every figure is shown.
screenshot: report
	python scripts/report_screenshot.py

bench: setup
	python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
