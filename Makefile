# Two commands for a newcomer: `make book` (install + build the report), `make test` (install + tests).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

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
# A parameter page notebooks/SOURCE-VARIANT.yml (papermill parameters) is notebooks/SOURCE.py
# executed with those parameters, e.g. the benchmark on Fashion-MNIST.
NOTEBOOKS      := $(basename $(notdir $(wildcard notebooks/*.py)))
PARAMETER_PAGES := $(basename $(notdir $(wildcard notebooks/*.yml)))
EXECUTED       := $(NOTEBOOKS:%=book/notebooks/%.ipynb) $(PARAMETER_PAGES:%=book/notebooks/%.ipynb)
RESULT_GRIDS   := mnist-reduced fashion-mnist-reduced mnist-ablations mnist-full mnist-protocols
SEGMENTATION_GRIDS := isic-reduced isic-half
MATHJAX        := book/_static/mathjax/tex-svg.js
PAPERMILL_ARGS ?=
BUILD_BOOK     = $(VENV)/bin/jupyter-book build . -W -n --keep-going && echo "open $(CURDIR)/_build/html/index.html"
ifdef CI
PAPERMILL_ARGS += -p train_missing False
endif

.PHONY: install test clean book html notebooks results
install: $(VENV)/.installed $(MATHJAX)

$(VENV)/.installed: pyproject.toml
	@bash .ci/apt-packages
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned, so that nothing pulls a CUDA build on a CPU machine
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[book,test]"
	touch $@

# MathJax 3 from the npm registry, served by the book itself (no CDN at reading time).
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed for the book's MathJax: sudo apt-get install -y npm" >&2; exit 1; }
	npm install --prefix .cache/npm --no-audit --no-fund --loglevel=error mathjax@3.2.2
	rm -rf $(@D) && mkdir -p $(@D)
	cd .cache/npm/node_modules/mathjax/es5 && cp -R tex-svg.js input ui a11y sre $(CURDIR)/$(@D)/

notebooks: $(EXECUTED)

book/notebooks/%.ipynb: notebooks/%.py $(wildcard anl/*.py) $(wildcard results/runs/*.json) | $(VENV)/.installed
	VENV=$(VENV) bash book/execute-notebook.sh $* $(PAPERMILL_ARGS)

book/notebooks/%.ipynb: notebooks/%.yml $(wildcard notebooks/*.py) $(wildcard anl/*.py) $(wildcard results/runs/*.json) | $(VENV)/.installed
	VENV=$(VENV) bash book/execute-notebook.sh $* $(PAPERMILL_ARGS)

book: install notebooks
	$(BUILD_BOOK)

# Render the executed notebooks as they are (after re-running one by hand with other parameters).
html: install
	$(BUILD_BOOK)

# Train the runs the book's default parameters read (named grids of anl.grids and
# anl.segmentation; recorded runs are skipped, an interrupted run resumes), then `make book`
# refreshes the pages.
results: install
	for grid in $(RESULT_GRIDS); do $(PY) -m anl sweep --grid $$grid || exit 1; done
	for grid in $(SEGMENTATION_GRIDS); do $(PY) -m anl segment sweep --grid $$grid || exit 1; done

# Unit tests (tests/, including the book build check of tests/test_book.py), then nbval on the
# executed notebooks: every cell must run, cells marked NBVAL_CHECK_OUTPUT must reproduce.
test: install notebooks
	$(PY) -m pytest
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env book/notebooks

clean:
	rm -rf $(VENV) _build .pytest_cache book/notebooks book/_static/mathjax .cache/notebooks
