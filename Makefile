# Two commands for a fresh machine with only Python 3.11+: `make run` and `make test`.
# Each makes the virtualenv and installs traderd into it first; both are safe to repeat.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/examples/paper.toml
PYTEST_ARGS ?=

.PHONY: run test bench clean

$(STAMP): setup.cfg setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "traderd needs Python 3.11 or newer" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/traderd run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/journal.py

clean:
	rm -rf $(VENV) var *.egg-info
