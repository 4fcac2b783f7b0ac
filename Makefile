# thumbs: day-to-day commands. `make` alone lists them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Written after a successful pip install; pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.installed
# Extra arguments for pytest: make test ARGS="-k history -x"
ARGS ?=

.PHONY: help install run test test-postgres lint format messages bench clean

help: ## Show this list
	@echo "Usage: make TARGET   (Python 3.12+ is found by scripts/find-python.sh)"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Create .venv with Python 3.12+ and install thumbs with its test tools (pip skipped if up to date)
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		python=$$(bash scripts/find-python.sh); \
		echo "Creating $(VENV) with $$python ($$("$$python" -c 'import sys; print(sys.version.split()[0])'))"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV); \
	fi
	@if [ $(STAMP) -nt pyproject.toml ]; then \
		echo "$(VENV) is up to date with pyproject.toml"; \
	else \
		echo "Installing thumbs and its test tools into $(VENV)"; \
		$(PY) -m pip install --disable-pip-version-check --quiet -e '.[test]'; \
		touch $(STAMP); \
	fi

run: install ## Set up .env, DB and a login, then run the Procfile with honcho: http://127.0.0.1:8000/ (PORT=N)
	@$(PY) manage.py setup --start

test: ## Run the test suite on SQLite, browser tests included (installs Chromium if missing); ARGS="..." goes to pytest
	@bash scripts/test.sh $(ARGS)

test-postgres: ## Run the test suite against a throwaway PostgreSQL cluster (scripts/with-postgres.sh)
	@bash scripts/with-postgres.sh bash scripts/test.sh $(ARGS)

lint: install ## Check lint and formatting with ruff (changes nothing)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Fix what ruff can fix (imports, upgrades) and format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The catalogue's sources: everything but the tests, the benchmarks and what is installed or collected.
MESSAGES_ENV := DJANGO_DEBUG=on THUMBS_ENV_FILE=
MESSAGES_IGNORE := --ignore .venv --ignore 'tests/*' --ignore 'bench/*' --ignore 'staticfiles/*'

messages: install ## Update the Chinese catalogue from the code, then compile it (GNU gettext); commit both files
	$(MESSAGES_ENV) $(PY) manage.py makemessages --locale zh_Hans --add-location file --no-obsolete $(MESSAGES_IGNORE)
	$(MESSAGES_ENV) $(PY) manage.py compilemessages --locale zh_Hans --ignore .venv

bench: install ## Run the history benchmark at 100k and 1M tasks on SQLite and PostgreSQL (bench/run.sh)
	bash bench/run.sh

clean: ## Remove .venv, staticfiles and caches (keeps db.sqlite3 and .env)
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-results *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
