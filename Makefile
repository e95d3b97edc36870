# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper they call.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
PORT ?= 8000
# Local development defaults; a deployment sets DEBUG=0 and its own SECRET_KEY (see README).
export DEBUG ?= 1

.PHONY: run test lint typecheck check install migrate demo clean-db shell

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

test: install lint typecheck check
	$(VENV)/bin/pytest -q

shell: install
	$(MANAGE) shell

# Stops the embedded server and removes its data (only when DATABASE_URL is not set).
clean-db: install
	$(MANAGE) embedded_db stop || true
	rm -rf .pgdata
