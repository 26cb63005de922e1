# Two commands for learners: `make lab` and `make test`. Each creates .venv and installs
# the course when missing: the exact versions of requirements.lock (torch + torchvision as
# a matching pair from PyPI), with uv (bootstrapped from PyPI) or, as a fallback, pip.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Which versions `make venv` installs: locked (requirements.lock), lowest or newest (the
# bounds of pyproject.toml, used by test-lowest / test-newest). INSTALLER: uv or pip.
VERSIONS ?= locked
INSTALLER ?= uv
# The interpreters of the lowest and newest runs: the oldest and the newest Python the
# course supports. tools/find_python.sh looks on PATH, then in pyenv's and uv's folders.
PYTHON_LOWEST ?= $(shell tools/find_python.sh 3.10)
PYTHON_NEWEST ?= $(shell tools/find_python.sh 3.13)
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

.PHONY: help venv lock fashion-data lab test test-slow test-lowest test-newest test-all rerun e2e lint unit nbval notebooks learner report site site-test standalone grade-test progress browser clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (installs first if needed)"
	@echo "make test       ruff + unit tests + every notebook executed and checked"
	@echo "make progress   your own notebooks (as saved, never modified) run afresh: one table of your exercises"
	@echo "make test-slow  the slow tier: learner versions executed, tests of the test tools, DDP runs"
	@echo "make test-lowest  make test with the lowest versions allowed, on Python 3.10"
	@echo "make test-newest  make test with the newest versions allowed, on Python 3.13"
	@echo "make test-all   make test, test-slow, rerun, e2e, site-test, standalone, grade-test, test-lowest, test-newest (what CI runs)"
	@echo "make lock       regenerate requirements.lock (the exact versions make venv installs)"
	@echo "make fashion-data  install Debian's dataset-fashion-mnist when possible (root + apt)"
	@echo "make rerun      every notebook executed again: must still run and print the same figures"
	@echo "make e2e        JupyterLab driven by headless chromium: Run All Cells on two notebooks"
	@echo "make notebooks  re-execute every answer notebook, save outputs, regenerate learner versions"
	@echo "make learner    regenerate learner versions only"
	@echo "make report     measure the course on this machine: reports/REPORT.md"
	@echo "make site       the course website from the executed notebooks (no re-execution): artifacts/site/"
	@echo "make site-test  make site, then every page opened in headless chromium (links, images, maths, console)"
	@echo "make grade-test real nbgrader: release the assignments, autograde three submissions each, check every mark"
	@echo "make standalone every learner notebook run alone in an empty folder, with only the built package (as on Colab)"
	@echo "make clean      remove generated caches (artifacts/, data caches)"

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) tools/install_env.py $(VENV) --versions $(VERSIONS) --installer $(INSTALLER) --python $(PYTHON)
	@touch $(STAMP)

venv: $(STAMP)

# Regenerate requirements.lock: the newest versions pyproject.toml allows, for every
# supported Python (3.10-3.13) and platform at once. Commit the result.
lock: venv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra e2e --extra site --extra grading --universal --python-version 3.10 \
	  --upgrade --custom-compile-command "make lock" -o requirements.lock

# The fast suite (make test) in two more environments: the lowest versions pyproject.toml
# allows on the oldest supported Python, and the newest versions on the newest Python.
# Each lives in its own folder, made afresh so that what it tests is what it says.
test-lowest:
	@test -n "$(PYTHON_LOWEST)" || { echo "test-lowest needs Python 3.10: set PYTHON_LOWEST=/path/to/python3.10"; exit 1; }
	rm -rf .venv-lowest
	$(MAKE) test VENV=.venv-lowest VERSIONS=lowest PYTHON=$(PYTHON_LOWEST)

test-newest:
	@test -n "$(PYTHON_NEWEST)" || { echo "test-newest needs Python 3.13: set PYTHON_NEWEST=/path/to/python3.13"; exit 1; }
	rm -rf .venv-newest
	$(MAKE) test VENV=.venv-newest VERSIONS=newest PYTHON=$(PYTHON_NEWEST)

# Fashion-MNIST offline: Debian's package dataset-fashion-mnist (MIT, 30 MB) holds the official
# 70,000 images under /usr/share/datasets/fashion-mnist. make test installs it when it can (as
# root, with apt); otherwise helpers.data.load_fashion_mnist downloads the same files once.
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion-data:
	@test -d $(FASHION_DIR) || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || { apt-get update -q >/dev/null && \
	      apt-get install -y -q dataset-fashion-mnist >/dev/null; } || echo "note: apt could not install dataset-fashion-mnist"; \
	  else echo "note: Fashion-MNIST is not installed; load_fashion_mnist() downloads it once (30 MB)." \
	    "Offline on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist"; fi; }

lab: venv
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT)

lint: venv
	$(VENV)/bin/ruff check helpers tests tools notebooks benchmarks

unit: venv
	$(PY) -m pytest tests -m "not slow" -q

# What a learner runs (6 minutes after install on a quiet 2-core CPU, 7 the first time): ruff, the unit tests,
# and every lesson and assignment answer executed by nbval with strict checks, offline.
# Sequential on purpose: the notebooks already keep both cores busy (two pytest workers
# saved only 15 %). Tests marked slow run in `make test-slow`.
test: venv lint fashion-data
	@$(RECORD_TREE)
	COURSE_STRICT_CHECKS=1 $(OFFLINE) $(PY) -m pytest tests notebooks $(NBVAL_FLAGS) -m "not slow" --durations=5 -q
	@$(CLEAN_CHECK)

# For self-learners: your learner versions and assignments, as you saved them, each run in a
# fresh kernel (in its own folder, errors allowed, never written back), offline like make test,
# then one table: lesson × exercise, ✓ / ✗ with the first hint / not started / not reached, and
# a total. ONLY="03 A1" picks notebooks by name; each gets 300 s, the whole run 1800 s. No
# clean-tree check: your own notebooks may write files, as they do in JupyterLab.
ONLY ?=
progress: venv fashion-data
	@$(OFFLINE) $(PY) tools/progress.py $(if $(ONLY),--only $(ONLY))

# The slow tier (about 5 minutes): every learner version executed (each check must say
# "not done yet"), the tests of the test tools (re-run, determinism, report), two-rank DDP.
test-slow: venv
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) -m pytest tests -m slow --durations=5 -q
	@$(CLEAN_CHECK)

# Everything CI runs (.ci/run), in the same order.
test-all: test test-slow rerun e2e site-test standalone grade-test test-lowest test-newest

# Every notebook executed twice more in this checkout (make test ran the first time): it
# must run again, the two runs must print identical figures (same machine: strict), and
# the figures must agree with the committed outputs, written on some other machine maybe,
# within the tolerance policy of CONTRIBUTING.md. The learner versions are not run a third time
# here: make test-slow runs them in this checkout after make test, and make standalone again,
# each alone in an empty folder (`python tools/check_reruns.py --learners` adds them).
rerun: venv
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) tools/check_reruns.py
	@$(CLEAN_CHECK)

# What both browser tests (e2e, site-test) drive: Debian's chromium, installed with apt
# when missing, and Playwright (the e2e extra, no browser download).
browser: venv
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -q && apt-get install -y -q chromium; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -q && sudo apt-get install -y -q chromium; \
	  else echo "the browser tests need chromium: install it (Debian: apt-get install chromium)"; exit 1; fi; }
	@$(PY) -c "import playwright" 2>/dev/null || $(PYTHON) tools/install_env.py $(VENV) --extra e2e --installer $(INSTALLER)

# A real browser driven by Playwright, on JupyterLab bound to 127.0.0.1 with a token.
# Screenshots: artifacts/e2e/.
e2e: browser
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

# The course website (about 25 s): the committed notebooks rendered with their outputs by Sphinx +
# myst-nb (tools/build_site.py, configuration in site/), offline, into the git-ignored
# artifacts/site/. The site extra (Sphinx and its friends, MathJax) is installed when missing.
site: venv
	@$(PY) -c "import myst_nb, sphinx_book_theme, mathjax" 2>/dev/null || $(PYTHON) tools/install_env.py $(VENV) --extra site --installer $(INSTALLER)
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) tools/build_site.py
	@$(CLEAN_CHECK)

# The website in a real browser (about a minute): every page opened by Debian's chromium through
# Playwright; broken links, missing images, unrendered maths, console errors and requests to other
# hosts fail it, and a self-test proves that planted faults are caught. Screenshots:
# artifacts/site-screenshots/.
site-test: site browser
	@$(RECORD_TREE)
	$(OFFLINE) timeout 600 $(PY) tools/site_check.py --self-test
	@$(CLEAN_CHECK)

# The way a Colab user meets the course (about 10 minutes): the package built as a wheel, a fresh
# virtual environment with only that wheel's dependencies, then every learner notebook and
# assignment copied alone into an empty folder outside the checkout and executed there. The
# first one's set-up cell installs the wheel (COURSE_PACKAGE_SOURCE), the others find it
# installed. Building the wheel needs the package registry (setuptools), nothing else does.
standalone: venv
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) tools/standalone_check.py
	@$(CLEAN_CHECK)

# Real nbgrader (the grading extra, installed when missing; Python 3.11+): the three assignments
# released in a temporary course folder, three submissions of each autograded in clean kernels
# (the answers 10/10, the release untouched 0/10, a partly wrong one with the right tasks
# failing), feedback written, every task's mark compared (about 3 minutes on a quiet 2-core CPU).
grade-test: venv fashion-data
	@$(PY) -c "import nbgrader" 2>/dev/null || $(PYTHON) tools/install_env.py $(VENV) --extra grading --installer $(INSTALLER)
	@$(RECORD_TREE)
	$(OFFLINE) $(PY) tools/nbgrader_check.py
	@$(CLEAN_CHECK)

clean:
	rm -rf artifacts data/bundled data/textures* data/photo-folders data/fashion-folder .pytest_cache .venv-lowest .venv-newest
