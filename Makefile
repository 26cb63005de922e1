# Two commands for learners: `make lab` and `make test`. Each creates .venv and
# installs the course (torch + torchvision as a matching pair from PyPI) when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# JupyterLab refuses to run as root unless told it may.
ALLOW_ROOT := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)
PORT ?= 8888
# Notebooks: lessons and assignment answers (strict checks) and learner versions.
# Every Python process of the test run (kernels included) refuses non-loopback
# connections: proof that nothing reaches the internet. See tools/offline/.
OFFLINE := COURSE_OFFLINE_GUARD=1 PYTHONPATH=$(CURDIR)/tools/offline
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider

.PHONY: help venv lab test lint unit nbval notebooks learner clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (installs first if needed)"
	@echo "make test       ruff + unit tests + every notebook executed and checked"
	@echo "make notebooks  re-execute every answer notebook, save outputs, regenerate learner versions"
	@echo "make learner    regenerate learner versions only"
	@echo "make clean      remove generated caches (artifacts/, data caches)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import torch, torchvision, helpers; print('installed torch', torch.__version__, 'torchvision', torchvision.__version__)"
	@touch $(STAMP)

venv: $(STAMP)

lab: venv
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT)

lint: venv
	$(VENV)/bin/ruff check helpers tests tools notebooks

unit: venv
	$(PY) -m pytest tests -q

# One pytest run: unit tests, then every answer notebook through nbval with strict
# checks, then the learner versions (tests/test_learner_versions.py).
test: venv lint
	COURSE_STRICT_CHECKS=1 $(OFFLINE) $(PY) -m pytest tests notebooks $(NBVAL_FLAGS) --durations=5 -q
	@git status --porcelain 2>/dev/null | grep . && { echo "make test left files behind (see above): write them under artifacts/"; exit 1; } || true

notebooks: venv
	$(PY) tools/run_notebooks.py

learner: venv
	$(PY) -m helpers.authoring

clean:
	rm -rf artifacts data/bundled data/textures* .pytest_cache
