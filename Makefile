# The two commands of the README:
#   make run   set everything up, then run the clinic app on the embedded default (SQLite, local files)
#   make test  set everything up, then run every check (ruff, import-linter, pytest)
# Everything installs into .venv in the repository root.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Django 6 needs Python >= 3.12; the machine's plain python3 is 3.11, pyenv holds newer ones.
PYTHON ?= $(shell for p in python3.13 python3.12; do \
	  if $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then command -v $$p; exit; fi; done; \
	  ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] 2>/dev/null | head -n 1)

.PHONY: setup run test lint bench clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.12 not found (install python3.12 or set PYTHON=...)" >&2; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored" >&2)
	$(PY) -m pip install --quiet -e '.[dev]' 2> >(grep -v "is ignored" >&2)
	$(PY) -c 'import trichotrack, cv2, skimage, django'
	touch $@

setup: $(VENV)/.installed
	@scripts/system-packages

# The demo accounts sign in with a password only, so that the first look needs no authenticator app;
# a clinic runs with TRICHOTRACK_REQUIRE_MFA=1 (the default of `trichotrack serve` itself).
run: setup
	TRICHOTRACK_REQUIRE_MFA=$${TRICHOTRACK_REQUIRE_MFA:-0} $(VENV)/bin/trichotrack serve --port $${PORT:-8000}

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

# The Django tests run a second time on PostgreSQL (Django's test runner creates and drops test_<name>).
# `make test TEST_DATABASE_URL=` skips that second run on a machine without PostgreSQL.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trichotrack

test: lint
	@scripts/system-packages --browser
	$(VENV)/bin/pytest
	@if [ -n "$(TEST_DATABASE_URL)" ]; then \
	  echo "Django tests on PostgreSQL: $(TEST_DATABASE_URL)"; \
	  DATABASE_URL="$(TEST_DATABASE_URL)" $(VENV)/bin/pytest src/trichotrack/web; \
	fi

bench: setup
	$(PY) bench/shedding.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
