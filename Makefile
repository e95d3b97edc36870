# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper they call.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
PORT ?= 8000
# Local development defaults; a deployment sets DEBUG=0 and its own SECRET_KEY (see README).
export DEBUG ?= 1

.PHONY: run test lint typecheck check install migrate demo clean-db shell pgbouncer client client-check example-web redis

# The pinned dependencies are installed by uv (from PyPI, pinned here): ~4 s of CPU and parallel downloads,
# where pip took ~34 s of CPU and a minute or more. uv is given pip's own index configuration (pip config
# list: index, extra indexes, find-links, constraints, certificate, timeout), and picks the best version
# across indexes as pip does; a pip setting it cannot translate, or a failed uv install, means pip instead.
# Byte-compiled at install as pip does: with PYTHONDONTWRITEBYTECODE set (as on our machines) a module without
# its .pyc is compiled again in every process, and the suite starts hundreds (gunicorn, manage.py, workers).
UV_VERSION := 0.13.8
define INDEX_CONFIG_FOR_UV
import ast, shlex, subprocess, sys
listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True)
rank = {":env:": 0, "install": 1, "global": 2}  # pip's precedence: environment, then [install], then [global]
found = {}
for line in listed.stdout.splitlines():
    key, _, value = line.partition("=")
    section, _, option = key.rpartition(".")
    if section in rank and (option not in found or rank[section] < found[option][0]):
        found[option] = (rank[section], str(ast.literal_eval(value)))
as_uv = {"index-url": ("UV_DEFAULT_INDEX", " "), "extra-index-url": ("UV_INDEX", " "),
         "find-links": ("UV_FIND_LINKS", ","), "constraint": ("UV_CONSTRAINT", " "), "cert": ("SSL_CERT_FILE", " "),
         "default-timeout": ("UV_HTTP_TIMEOUT", " "), "trusted-host": ("UV_INSECURE_HOST", " "), "proxy": ("HTTPS_PROXY", " ")}
ignored = {"disable-pip-version-check", "quiet", "verbose", "progress-bar", "no-color", "no-input", "retries", "root-user-action"}
untranslated = set(found) - set(as_uv) - ignored
if untranslated:
    sys.exit(f"pip settings uv is not given: {sorted(untranslated)}")
for option, (_, value) in sorted(found.items()):
    if option in as_uv:
        name, separator = as_uv[option]
        print(f"export {name}={shlex.quote(separator.join(value.split()))}")
endef
export INDEX_CONFIG_FOR_UV

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	@if uv_env=$$($(PY) -c "$$INDEX_CONFIG_FOR_UV") && $(PY) -m pip install --quiet uv==$(UV_VERSION); then \
		echo "Installing the dependencies with uv $(UV_VERSION), from pip's indexes"; \
		eval "$$uv_env" && $(VENV)/bin/uv pip install --quiet --python $(PY) --index-strategy unsafe-best-match --compile-bytecode \
			-r $(VENV)/requirements.txt || { echo "uv failed: installing with pip"; false; }; \
	else false; fi || { $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -r $(VENV)/requirements.txt; }
	touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --no-input

demo: migrate
	$(MANAGE) load_demo

# Front ends under development may call the API from their own origin: Vite's dev server and preview and
# the other usual local ports (a deployment sets CORS_ALLOWED_ORIGINS itself; see README, "Front ends on another origin").
LOCAL_DEV_ORIGINS := http://localhost:5173,http://127.0.0.1:5173,http://localhost:4173,http://127.0.0.1:4173,http://localhost:3000,http://127.0.0.1:3000,http://localhost:8080,http://127.0.0.1:8080
run: export CORS_ALLOWED_ORIGINS ?= $(LOCAL_DEV_ORIGINS)
# Webhooks to a receiver on this machine (a local tunnel, a test server) are refused in a deployment.
run: export WEBHOOK_ALLOW_PRIVATE_URLS ?= 1
# The background worker (crm/tasks.py and every app's tasks, ADR 0023) runs beside the web server and stops
# with it: on Ctrl-C or a TERM the shell's exit stops the worker too (the traps make sure it runs).
run: demo
	$(MANAGE) demo_logins
	@$(MANAGE) procrastinate worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM HUP; \
		echo "Background worker started (pid $$worker)"; $(MANAGE) runserver 127.0.0.1:$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

# pytest runs on several processes (pytest-xdist), each on its own test database (test_crm_gw0, …);
# --dist loadfile keeps a module on one worker, so its module-scoped set-up runs once. Measured on 2 cores:
# `make test` (servers, subprocesses and schemathesis, much of it waiting) is faster on 3 workers,
# `make check` (small database-bound tests) on 2. PYTEST_WORKERS=N sets both; 0 runs serially.
PYTEST_WORKERS ?=
PYTEST := $(VENV)/bin/pytest -q --dist loadfile

# The inner loop: Django's checks, then every suite but the slow and external ones (tests/conftest.py lists
# them), on the test databases kept from the last run (migrated forward). `make test` runs everything.
check: django-check bytecode
	$(PYTEST) -n $(or $(PYTEST_WORKERS),2) -m "not slow and not external" $(PYTEST_ARGS)

.PHONY: django-check
django-check: install
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

# Everything, on test databases rebuilt from the migrations (--create-db). Django's checks come first: they
# also start the embedded server and create its database, which commands started together would race to do.
# The other checks then run side by side (mypy alone keeps one core busy ~30 s), each one's output printed
# whole when it ends.
test: install
	@$(MAKE) --no-print-directory django-check
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck migration-lint externals client-check example-web bytecode
	$(PYTEST) -n $(or $(PYTEST_WORKERS),3) --create-db $(PYTEST_ARGS)

# With PYTHONDONTWRITEBYTECODE set (as on our machines) every process compiles the project's modules again
# (~1 s of CPU for all of them), and the suite starts dozens: xdist workers, manage.py subprocesses, gunicorn
# workers. Compiled once here (Python still reads a .pyc it did not write; a stale one is recompiled).
.PHONY: bytecode
bytecode: install
	@$(PY) -m compileall -q manage.py $(dir $(wildcard */__init__.py))

# The programs from outside the virtualenv, one after another: apt-get holds a lock while it installs.
.PHONY: externals
externals:
	@$(MAKE) --no-print-directory pgbouncer && $(MAKE) --no-print-directory hypopg && $(MAKE) --no-print-directory chromium && \
		$(MAKE) --no-print-directory patroni && $(MAKE) --no-print-directory redis

# Every migration after each app's initial ones through squawk (fed by sqlmigrate) and
# django-migration-linter; exceptions and their reasons in crm/migration_lint.toml, conventions in
# docs/migrations.md. `make migration-lint LINT_ARGS=app` lints one app; LINT_ARGS=--sql prints the SQL it judged.
.PHONY: migration-lint
migration-lint: install
	$(MANAGE) lint_migrations $(LINT_ARGS)

# The RLS pooling test runs the API behind PgBouncer (transaction mode). Debian's package is installed
# when missing and this is a root shell with apt (CI); elsewhere the test says loudly that it skipped.
pgbouncer:
	@if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PgBouncer (Debian package) for the transaction-pooling test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }; \
	else echo "WARNING: PgBouncer is not installed: the transaction-pooling test will be SKIPPED"; fi

# analyze_queries' HypoPG test (tests/ops/) starts a throwaway cluster of Debian's PostgreSQL with the hypopg
# extension. Debian's package is installed when missing and this is a root shell with apt (CI); elsewhere the
# test says loudly that it skipped. (The embedded server has no HypoPG: the command then lists unverified.)
.PHONY: hypopg
hypopg:
	@if ls /usr/lib/postgresql/*/lib/hypopg.so >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		v=$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); v=$${v:-15}; \
		echo "Installing HypoPG (Debian package postgresql-$$v-hypopg) for the analyze_queries test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-$$v-hypopg >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-$$v-hypopg >/dev/null; }; \
	else echo "WARNING: HypoPG is not installed: the analyze_queries HypoPG test will be SKIPPED"; fi

# The browser tests (tests/browser/: CORS, the example front end) drive Debian's headless Chromium. Installed when missing and this is a
# root shell with apt (CI); elsewhere the test says loudly that it skipped.
.PHONY: chromium
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium (Debian package) for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	else echo "WARNING: Chromium is not installed: the browser tests (CORS, the example front end) will be SKIPPED"; fi

# The failover test (tests/ops/test_failover.py) runs the deploy/patroni/ recipe: three PostgreSQL nodes under
# Patroni with etcd on this machine, and kills the leader. Debian's packages (patroni, etcd-server) are
# installed when missing and this is a root shell with apt (CI); elsewhere the test says loudly that it skipped.
.PHONY: patroni
patroni:
	@if command -v patroni >/dev/null 2>&1 && { command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Patroni and etcd (Debian packages patroni, etcd-server) for the failover test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patroni etcd-server >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patroni etcd-server >/dev/null; }; \
	else echo "WARNING: Patroni or etcd is not installed: the failover test will be SKIPPED"; fi

# The rate limits' Redis tests (tests/api/test_rate_limits_redis.py) start a throwaway redis-server of their own.
# Debian's package is installed when missing and this is a root shell with apt (CI); elsewhere the tests say
# loudly that they skipped. (Installing it does not start Debian's own service where no init system runs.)
.PHONY: redis
redis:
	@if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Redis (Debian package redis-server) for the rate limits' Redis tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }; \
	else echo "WARNING: redis-server is not installed: the rate limits' Redis tests will be SKIPPED"; fi

shell: install
	$(MANAGE) shell

# Stops the embedded server and removes its data (only when DATABASE_URL is not set).
clean-db: install
	$(MANAGE) embedded_db stop || true
	rm -rf .pgdata

# The TypeScript client (client/): types generated from the committed schema (openapi.yaml), calls through
# openapi-fetch. `make client` regenerates both after an API change; tests fail until it is run.
CLIENT_DEPS := client/node_modules/.package-lock.json

$(CLIENT_DEPS): client/package.json client/package-lock.json
	npm ci --prefix client --no-audit --no-fund --loglevel=error
	touch $@

client: install
	$(MANAGE) spectacular --validate --fail-on-warn --file openapi.yaml
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node.js 20+) is needed to regenerate client/src/schema.ts"; exit 1; }
	$(MAKE) --no-print-directory $(CLIENT_DEPS)
	npm run --prefix client --silent generate

# Installs the client's pinned dependencies, type-checks it, builds it (ES module and CommonJS) and
# compiles and runs the consumer projects in client/consumers/ against the build with TypeScript 5.4,
# 5.9, 6 and 7; its live test runs in pytest (tests/client/). Without Node.js all are skipped, loudly.
client-check:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(CLIENT_DEPS) && npm run --prefix client --silent typecheck \
		&& npm run --prefix client --silent consumers; \
	else \
		echo "**********************************************************************************"; \
		echo "WARNING: Node.js/npm not found: the TypeScript client's type-check and live test"; \
		echo "         (tests/client/) are SKIPPED. Install Node.js 20+ to run them."; \
		echo "**********************************************************************************"; \
	fi

# The example front end (examples/web/: Vite, the client compiled from client/src): its pinned dependencies,
# a type-check and a production build into examples/web/dist/ (`make run` serves the API it talks to; see its
# README). Its browser test (tests/browser/test_example_web.py) builds it again against a server of its own.
# Without Node.js both are skipped, loudly.
WEB_DEPS := examples/web/node_modules/.package-lock.json

$(WEB_DEPS): examples/web/package.json examples/web/package-lock.json
	npm ci --prefix examples/web --no-audit --no-fund --loglevel=error
	touch $@

example-web:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(WEB_DEPS) && npm run --prefix examples/web --silent build -- --logLevel warn; \
	else \
		echo "**********************************************************************************"; \
		echo "WARNING: Node.js/npm not found: the example front end (examples/web/) is not built"; \
		echo "         and its browser test is SKIPPED. Install Node.js 20.19+ to run them."; \
		echo "**********************************************************************************"; \
	fi

# Schemathesis over the whole live API, as `make test` runs it (tests/fuzz/) but with a much larger budget:
# FUZZ_EXAMPLES generated cases per operation (default 200; `make test` uses 15), FUZZ_SEED for a seed
# other than the fixed one. Takes tens of minutes.
.PHONY: fuzz
FUZZ_EXAMPLES ?= 200
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -q tests/fuzz

# The API under load on generated data (workbench/bench): gunicorn gthread (DEBUG off; --server sync or
# granian for the others, see docs/performance.md) on the current database, each hot operation of a Sales
# Manager at 1 and 8 connections, with SQL, JSON and no-RLS baselines; generates a scale-1 firm first when the
# database has none (it writes: use a benchmark database, e.g.
# DATABASE_URL=postgresql://postgres@/crm_bench?host=$(CURDIR)/.pgdata). wrk (Debian package) is installed
# when missing and this is a root shell with apt; otherwise a Python client drives the load.
# BENCH_ARGS passes options through, e.g. BENCH_ARGS="--json", "--only interactions --seconds 3" or
# "--server granian --workers 2 --threads 4".
.PHONY: bench
BENCH_ARGS ?=
bench: migrate
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing wrk (Debian package) for the benchmark's load"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; \
	else echo "wrk is not installed: the benchmark drives the load with its Python client"; fi
	$(MANAGE) benchmark $(BENCH_ARGS)
