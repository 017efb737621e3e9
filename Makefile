# Two commands for a newcomer: `make repro` (set up + run the pipeline) and `make test`.
# Both create .venv if missing and install exactly the versions pinned in requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: repro test lint bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	# Precompiled bytecode: uv skips it by default, and with PYTHONDONTWRITEBYTECODE set (as on
	# CI machines here) every stage process would recompile pandas/sklearn: ~3 s each.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src stages tests benchmarks
	$(BIN)/ruff format --check src stages tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	# Helpers are not benchmarks; spark_scale.py (issue 18: 1e7-1e8 rows, up to an hour per
	# engine) is run on its own with explicit sizes (see its docstring).
	for script in benchmarks/*.py; do \
	  case $$script in */record.py|*/proctree.py|*/scale_report.py|*/big_data.py|*/spark_scale.py) ;; \
	  *) $(BIN)/python $$script || exit 1;; esac; done

# Regenerate the pinned versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf $(VENV)
