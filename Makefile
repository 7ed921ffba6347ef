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

.PHONY: install test clean
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@bash .ci/apt-packages
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned, so that nothing pulls a CUDA build on a CPU machine
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $@

test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) _build .pytest_cache
