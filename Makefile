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

# Fails when a run left files outside the git-ignored artifacts/ and data/ caches. The tree
# is recorded first, so a learner's own edits made before the run do not count.
TREE_RECORD := artifacts/tree-before.json
RECORD_TREE := $(PY) tools/check_clean.py --record $(TREE_RECORD)
CLEAN_CHECK := $(PY) tools/check_clean.py --since $(TREE_RECORD)
# The browser test: lesson 01, and an assignment learner version that must render a plot.
E2E_NOTEBOOKS := notebooks/01_tensors.ipynb --plot-in notebooks/assignments/A2_transfer_learning.ipynb

.PHONY: help venv lab test test-slow test-all rerun e2e lint unit nbval notebooks learner report clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (installs first if needed)"
	@echo "make test       ruff + unit tests + every notebook executed and checked"
	@echo "make test-slow  the slow tier: learner versions executed, tests of the test tools, DDP runs"
	@echo "make test-all   make test, test-slow, rerun and e2e (what CI runs)"
	@echo "make rerun      every notebook executed again: must still run and print the same figures"
	@echo "make e2e        JupyterLab driven by headless chromium: Run All Cells on two notebooks"
	@echo "make notebooks  re-execute every answer notebook, save outputs, regenerate learner versions"
	@echo "make learner    regenerate learner versions only"
	@echo "make report     measure the course on this machine: reports/REPORT.md"
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
	$(VENV)/bin/ruff check helpers tests tools notebooks benchmarks

unit: venv
	$(PY) -m pytest tests -m "not slow" -q

# What a learner runs (under 5 minutes after install on a 2-core CPU): ruff, the unit tests,
# and every lesson and assignment answer executed by nbval with strict checks, offline.
# Sequential on purpose: the notebooks already keep both cores busy (two pytest workers
# saved only 15 %). Tests marked slow run in `make test-slow`.
test: venv lint
	@$(RECORD_TREE)
	COURSE_STRICT_CHECKS=1 $(OFFLINE) $(PY) -m pytest tests notebooks $(NBVAL_FLAGS) -m "not slow" --durations=5 -q
	@$(CLEAN_CHECK)

# The slow tier (about 5 minutes): every learner version executed (each check must say
# "not done yet"), the tests of the test tools (re-run, determinism, report), two-rank DDP.
test-slow: venv
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) -m pytest tests -m slow --durations=5 -q
	@$(CLEAN_CHECK)

# Everything CI runs (.ci/run), in the same order.
test-all: test test-slow rerun e2e

# A second execution of every notebook in this checkout (make test ran the first):
# each must run again, print the same figures as its committed outputs (a fresh run
# by `make notebooks`), and the learner versions must run again too.
rerun: venv
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) tools/check_reruns.py --learners
	@$(CLEAN_CHECK)

# A real browser: Debian's chromium (installed with apt when missing) driven by
# Playwright, on JupyterLab bound to 127.0.0.1 with a token. Screenshots: artifacts/e2e/.
e2e: venv
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -q && apt-get install -y -q chromium; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -q && sudo apt-get install -y -q chromium; \
	  else echo "make e2e needs chromium: install it (Debian: apt-get install chromium)"; exit 1; fi; }
	@$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install --quiet --disable-pip-version-check -e '.[e2e]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(RECORD_TREE)
	$(OFFLINE) timeout 900 $(PY) tools/e2e_lab.py --self-test $(E2E_NOTEBOOKS)
	@$(CLEAN_CHECK)

notebooks: venv
	$(PY) tools/run_notebooks.py

learner: venv
	$(PY) -m helpers.authoring

# Measure the course on this machine and rewrite reports/REPORT.md with its charts (about
# 10 minutes). Section 6 installs a fresh environment in a temporary folder, so it needs the
# package registries: no offline guard here, and it is not part of make test.
report: venv
	PYTHON=$(PYTHON) $(PY) -m benchmarks.report

clean:
	rm -rf artifacts data/bundled data/textures* .pytest_cache
