# The two commands a newcomer needs: `make demo` (install, then run the whole product on shipped data)
# and `make test` (install everything the tests need, then lint and test). CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install install-dev demo test lint

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

test:
	VENV=$(VENV) PYTHON=$(PYTHON) bash tools/test.sh
