# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper they call.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
PORT ?= 8000
# Local development defaults; a deployment sets DEBUG=0 and its own SECRET_KEY (see README).
export DEBUG ?= 1

.PHONY: run test lint typecheck check install migrate demo clean-db shell pgbouncer

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --no-input

demo: migrate
	$(MANAGE) load_demo

run: demo
	$(MANAGE) demo_logins
	$(MANAGE) runserver 127.0.0.1:$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

check: install
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

test: install lint typecheck check pgbouncer
	$(VENV)/bin/pytest -q

# The RLS pooling test runs the API behind PgBouncer (transaction mode). Debian's package is installed
# when missing and this is a root shell with apt (CI); elsewhere the test says loudly that it skipped.
pgbouncer:
	@if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PgBouncer (Debian package) for the transaction-pooling test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }; \
	else echo "WARNING: PgBouncer is not installed: the transaction-pooling test will be SKIPPED"; fi

shell: install
	$(MANAGE) shell

# Stops the embedded server and removes its data (only when DATABASE_URL is not set).
clean-db: install
	$(MANAGE) embedded_db stop || true
	rm -rf .pgdata
