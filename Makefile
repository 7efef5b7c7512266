# The two commands a newcomer needs: `make demo` (install, then run the whole product on shipped data)
# and `make test` (install everything the tests need, then lint, test and run the docstrings' examples).
# CI runs `make test`. Both test targets pass ARGS on to pytest: `make test ARGS='-k resume -x'`.
# `make test-fast` leaves out the slow tests (training, whole-pipeline runs), the browser tests and the wheel check.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install install-dev demo test test-fast lint

install: $(VENV)/.runtime-installed

$(VENV)/.runtime-installed: pyproject.toml tools/install.sh
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/install.sh runtime
	touch $@

install-dev:
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/install.sh dev

demo: install
	$(BIN)/storemood demo

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

ARGS ?=

test:
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/test.sh $(ARGS)

test-fast:
	VENV=$(VENV) PYTHON=$(PYTHON) WHEEL_CHECK=0 bash tools/test.sh -m "not slow and not browser" $(ARGS)
