# Two commands for a newcomer: `make demo` and `make test`. Both create or refresh the local
# virtual environment (.venv) from the locked constraints first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-ahead test-stress lint typecheck install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	# An editable install leaves our modules uncompiled; compiled now, as pip compiles an installed
	# package, so no command recompiles them at start (with PYTHONDONTWRITEBYTECODE, every time).
	$(BIN)/python -m compileall -q accountability connectors flows rules sandbox storage
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/accountability demo --serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The whole suite with the process clock a year ahead (libfaketime): a test that depends on the
# day it was written fails today, not next week. CI runs it after `make test`.
test-ahead: $(STAMP)
	$(BIN)/python -m tests.clock -q -p no:cacheprovider

# Races repeated until a one-in-ten failure would show (PostgreSQL); CI runs it too.
test-stress: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m stress --run-stress

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy rules storage

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
