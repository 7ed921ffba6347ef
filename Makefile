# Two commands for a newcomer: `make book` (install + build the report), `make test` (install + tests).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LOCK   := requirements.lock

# The real data sets: ANL_DATA if set, else ../shared/data when it sits beside the checkout.
ifneq ($(wildcard ../shared/data),)
ANL_DATA ?= $(abspath ../shared/data)
endif
export ANL_DATA
export PYTHONHASHSEED := 0

# The book: notebooks/NAME.py (jupytext sources) -> book/notebooks/NAME.ipynb (executed by
# papermill with the default parameters, git-ignored) -> _build/html (jupyter-book renders them,
# execution off, warnings are errors). PAPERMILL_ARGS passes parameters to every notebook, e.g.
# make notebooks PAPERMILL_ARGS="-p results_dir /tmp/results -p epochs 2". Under CI a notebook
# whose runs are not in results/ fails instead of training them.
# The pages are those of _toc.yml under book/notebooks/: a notebook, or a variant of one in
# anl.pages.BOOK (a notebook executed with other parameters, e.g. the benchmark on Fashion-MNIST).
BOOK_PAGES     := $(shell sed -n 's|^ *- file: book/notebooks/||p' _toc.yml)
EXECUTED       := $(BOOK_PAGES:%=book/notebooks/%.ipynb)
MATHJAX        := book/_static/mathjax/tex-svg.js
PAPERMILL_ARGS ?=
BUILD_BOOK     = $(VENV)/bin/jupyter-book build . -W -n --keep-going && echo "open $(CURDIR)/_build/html/index.html"
# Under CI a page whose runs are not all in results/ fails instead of training them: train_missing
# False goes to every page that takes that parameter (IF_TAKEN: NAME=VALUE pairs given only to the
# pages whose parameters cell has NAME).
ifdef CI
export IF_TAKEN := train_missing=False
endif

.PHONY: install lock test-lowest test clean book html notebooks results readme
install: $(VENV)/.installed $(MATHJAX)

# The environment: scripts/install.py makes .venv. Where requirements.lock covers this Python and
# platform (it records them: CPython 3.11, Linux x86_64) it installs the lock, every package at its
# exact version, hash-checked, torch as the CPU build 2.13.0+cpu (from this machine's pip find-links
# when they hold it, else from PyTorch's CPU index), then the package editable without resolving
# again, built by the locked setuptools. Elsewhere it says so in one line and installs the package
# with all its extras from pyproject.toml's ranges (best-effort). `python3 scripts/install.py
# --dry-run` prints the commands it would run.
$(VENV)/.installed: pyproject.toml $(LOCK) scripts/install.py scripts/lock.py
	@bash .ci/apt-packages
	$(PYTHON) scripts/install.py --venv $(VENV) --lock $(LOCK)
	touch $@

# After changing a dependency in pyproject.toml or lock-constraints.txt (tests/test_lock.py fails
# until then): re-resolve the package's ranges with uv under the pins of lock-constraints.txt (pins
# still allowed are kept; delete the lock first to move every pin to the newest) and stamp the lock
# with the digest of the inputs. TORCH_WHEELS: a folder or find-links page holding the torch
# 2.13.0+cpu wheel (PyTorch's CPU index, https://download.pytorch.org/whl/cpu/torch/, is one).
UV_VERSION    := 0.13.8
UV            := .cache/uv/bin/uv
TORCH_WHEELS  ?= /opt/wheels
LOCK_PYTHON   := 3.11
LOCK_PLATFORM := x86_64-manylinux_2_28
$(UV):
	$(PYTHON) -m venv .cache/uv && .cache/uv/bin/pip install -q uv==$(UV_VERSION)

lock: | $(UV)
	$(UV) pip compile pyproject.toml --all-extras --generate-hashes --python-version $(LOCK_PYTHON) \
	  --python-platform $(LOCK_PLATFORM) -c lock-constraints.txt --find-links $(TORCH_WHEELS) \
	  --custom-compile-command "make lock" --quiet -o $(LOCK)
	$(PYTHON) scripts/lock.py stamp $(LOCK) --python $(LOCK_PYTHON) --platform $(LOCK_PLATFORM)

# The package at the lower bounds of its ranges: uv resolves pyproject.toml (with the extra 'test')
# at the lowest direct versions, torch as its CPU build from TORCH_WHEELS (lock-constraints.txt: the
# lower bound is the locked torch), installs them and the built wheel into a fresh venv and runs the
# loss and noise tests against the installed package. Downloads the old wheels (about 100 MB besides
# torch), so it is not part of `make test`; tests/test_ranges.py checks the resolution there.
LOWEST := .cache/lowest
test-lowest: | $(UV)
	rm -rf $(LOWEST) && mkdir -p $(LOWEST)
	$(UV) pip compile pyproject.toml --extra test --resolution lowest-direct --python-version $(LOCK_PYTHON) \
	  --python-platform $(LOCK_PLATFORM) -c lock-constraints.txt --find-links $(TORCH_WHEELS) --quiet \
	  -o $(LOWEST)/requirements.txt
	$(UV) venv --quiet --python $(PYTHON) $(LOWEST)/venv
	$(UV) pip install --quiet --python $(LOWEST)/venv/bin/python --find-links $(TORCH_WHEELS) \
	  -r $(LOWEST)/requirements.txt
	$(UV) build --quiet --wheel --out-dir $(LOWEST)/dist .
	$(UV) pip install --quiet --python $(LOWEST)/venv/bin/python --no-deps $(LOWEST)/dist/anl-*.whl
	cd $(LOWEST) && venv/bin/python -c "import anl, numpy, pandas, torch; print('anl', anl.__version__, 'from', \
	  anl.__file__, '| torch', torch.__version__, '| numpy', numpy.__version__, '| pandas', pandas.__version__)"
	cd $(LOWEST) && venv/bin/python -m pytest -q -p no:cacheprovider $(CURDIR)/tests/test_losses.py \
	  $(CURDIR)/tests/test_noise.py

# MathJax 3 from the npm registry, served by the book itself (no CDN at reading time).
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed for the book's MathJax: sudo apt-get install -y npm" >&2; exit 1; }
	npm install --prefix .cache/npm --no-audit --no-fund --loglevel=error mathjax@3.2.2
	rm -rf $(@D) && mkdir -p $(@D)
	cd .cache/npm/node_modules/mathjax/es5 && cp -R tex-svg.js input ui a11y sre $(CURDIR)/$(@D)/

notebooks: $(EXECUTED)

book/notebooks/%.ipynb: notebooks/%.py $(wildcard anl/*.py anl/*.json anl/*/*.py anl/*/*.json) $(wildcard results/runs/*.json) | $(VENV)/.installed
	VENV=$(VENV) bash book/execute-notebook.sh $* $(PAPERMILL_ARGS)

book/notebooks/%.ipynb: $(wildcard notebooks/*.py) $(wildcard anl/*.py anl/*.json anl/*/*.py anl/*/*.json) $(wildcard results/runs/*.json) | $(VENV)/.installed
	VENV=$(VENV) bash book/execute-notebook.sh $* $(PAPERMILL_ARGS)

# The records are checked before the notebooks read them: a damaged one stops the build, named.
book: install
	$(PY) -m anl check-results
	$(MAKE) notebooks
	$(BUILD_BOOK)

# Render the executed notebooks as they are (after re-running one by hand with other parameters).
html: install
	$(PY) -m anl check-results
	$(BUILD_BOOK)

# Train the runs the book's pages read (the grids `python -m anl grids --book` lists,
# anl.pages.book_grids(); recorded runs are skipped, an interrupted run resumes), then
# `make book` refreshes the pages.
results: install
	for grid in $$($(PY) -m anl grids --book); do $(PY) -m anl sweep --grid $$grid || exit 1; done

# Rewrite the README's results tables from the records (after committing new records).
readme: install
	$(PY) -m anl readme

# Unit tests (tests/, including the book build check of tests/test_book.py), then nbval on the
# executed notebooks: every cell must run, cells marked NBVAL_CHECK_OUTPUT must reproduce.
test: install notebooks | $(UV)
	$(PY) -m pytest
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env book/notebooks

clean:
	rm -rf $(VENV) _build .pytest_cache book/notebooks book/_static/mathjax .cache/notebooks
