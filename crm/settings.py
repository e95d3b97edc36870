"""Settings for the CRM service: one module, every knob an environment variable (see README)."""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from crm import database_urls


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A rate limit policy: `<requests>/<seconds>` as (requests, seconds), or None for `0` (no such policy)."""
    value = (os.environ.get(name, "") or default).strip()
    if value == "0":
        return None
    requests, separator, seconds = value.partition("/")
    try:
        quota, window = int(requests), int(seconds)
    except ValueError:
        quota = window = 0
    if not separator or not (1 <= quota <= 1_000_000 and 1 <= window <= 86_400):
        raise ImproperlyConfigured(
            f"{name} must be <requests>/<seconds> (1 to 1,000,000 per 1 to 86,400 s, e.g. 20/1) or 0, not {value!r}."
        )
    return quota, window


BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-deploy"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "crm",
    "crm.apps.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    # The job queue: its tables and functions (procrastinate's own migrations), its admin pages, and
    # `manage.py procrastinate worker` (crm/jobs.py, ADR 0023).
    "procrastinate.contrib.django",
    "organizations",
    "contacts",
    "products",
    "opportunities",
    "interactions",
    "samples",  # what became of a sample interaction's products
    "tasks",  # tasks and the daily digest (ADR 0030)
    "reports",
    "imports",
    "sales",  # distributor sales (depletions): facts, unmatched rows, aliases, mappings (ADR 0034)
    "changes",  # the change feed over history (ADR 0026)
    "webhooks",  # endpoints, deliveries and their worker (ADR 0027)
    "workbench",  # the tools on top: demo data, data generator, benchmark, query analysis (commands)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Deployed (DEBUG off) the static files are served by the app itself, before any database work.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that touches the database: a preflight is answered here, and every API response
    # (problems included) gets its CORS headers on the way out.
    "corsheaders.middleware.CorsMiddleware",
    # Every error under /api/ a problem, DEBUG or not (Django's technical pages replaced); inside CORS so
    # that the problems it makes get CORS headers too.
    "crm.api.problems.ApiProblemsMiddleware",
    "crm.api.limits.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Rate limits per member, API key or client address (crm/rate_limits.py): before the request's
    # transaction, so a refused request costs one statement and runs nothing.
    "crm.rate_limits.RateLimitMiddleware",
    # Opens the request's transaction and sets the RLS variables in it; must follow authentication.
    "crm.middleware.RowLevelSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "crm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from crm.embedded_db import database_url

    return database_url()


DATABASES = {
    "default": {
        **database_urls.parse(_database_url(), conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60"))),
        # Connections are health-checked before reuse so a restarted server does not fail a request; the
        # backend's check costs no round trip (crm/postgresql/base.py).
        "CONN_HEALTH_CHECKS": True,
    }
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "crm.postgresql"
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_crm")}
# A database host that drops packets (rather than refusing them) must not hold a request for the operating
# system's TCP timeout (about 2 minutes): past this many seconds the connection attempt fails and the client
# gets the 503 a stopped server gives. `?connect_timeout=` in DATABASE_URL wins.
_options = cast(dict[str, Any], DATABASES["default"]).setdefault("OPTIONS", {})
_options.setdefault("connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")))
# Server-side prepared statements (psycopg 3: parameters bound by the server; the statements of the read
# path and the request context, whose plans do not depend on their values, prepared once they have run
# DATABASE_PREPARE_THRESHOLD times on a connection: crm.postgresql.prepared). PostgreSQL then plans them once
# per connection instead of once per request; other statements (reports, writes) are planned for their
# values each time. Named prepared statements break behind PgBouncer in transaction mode before 1.21 (and
# on 1.21+ without max_prepared_statements), so this is on by default only for the embedded server, a
# direct connection by construction; a deployment connecting directly (or through PgBouncer >= 1.21 with
# max_prepared_statements set) turns it on with DATABASE_PREPARED_STATEMENTS=1.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", not os.environ.get("DATABASE_URL"))
DATABASE_PREPARE_THRESHOLD = int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "") or 2)
if DATABASE_PREPARED_STATEMENTS:
    _options.setdefault("server_side_binding", True)

# Read replicas (crm/replicas.py): streaming standbys of the primary that serve the API's safe requests
# under the same RLS. Unset: everything runs on the primary.
DATABASE_REPLICA_URLS = os.environ.get("DATABASE_REPLICA_URLS", "")
# A replica further behind than this many seconds is skipped until it catches up.
DATABASE_REPLICA_MAX_LAG = float(os.environ.get("DATABASE_REPLICA_MAX_LAG", "") or 5)
# How long a read presenting a write's X-Database-Position waits for a replica to replay it before the
# primary serves it instead.
DATABASE_REPLICA_WAIT_MS = float(os.environ.get("DATABASE_REPLICA_WAIT_MS", "") or 10)
# One alias a standby, `replica_1`, `replica_2`, …: the primary's settings with the standby's address and
# credentials. In tests a replica mirrors the test database (a suite wanting a real standby points it at one).
for _index, _url in enumerate(database_urls.split(DATABASE_REPLICA_URLS), start=1):
    _parsed = database_urls.parse(_url)
    _replica: dict[str, Any] = {**DATABASES["default"]}
    # What the URL gives; the rest (user, password, database name…) as the primary's.
    _replica.update(
        {key: _parsed[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT") if _parsed.get(key)}
    )
    # A multi-host primary's ports are its hosts': a replica whose URL names no port takes the default.
    if "," in str(_replica["PORT"]) and not _parsed.get("PORT"):
        _replica["PORT"] = ""
    # The primary is there to fall back on: a replica that does not answer is given up on sooner.
    _replica["OPTIONS"] = {
        **_options,
        "connect_timeout": int(os.environ.get("DATABASE_REPLICA_CONNECT_TIMEOUT", "") or 1),
        **_parsed.get("OPTIONS", {}),
    }
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = cast(Any, _replica)

# The role every request runs as (SET LOCAL ROLE inside the request's transaction). Created by the
# crm migrations when missing: not superuser, not owner, NOBYPASSRLS. See crm/rls/.
DATABASE_RUNTIME_ROLE = os.environ.get("DATABASE_RUNTIME_ROLE", "crm_app")

# How long `migrate` waits for a table lock before giving up (PostgreSQL lock_timeout; "0" waits forever).
# A migration queued behind a long transaction would block every request behind it: failing is better.
MIGRATION_LOCK_TIMEOUT = os.environ.get("MIGRATION_LOCK_TIMEOUT", "5s")

# The job queue (procrastinate on this database, ADR 0023; `manage.py procrastinate worker`). Jobs are
# deferred in the transaction of the change that asks for them; the worker connects as DATABASE_URL's user.
PROCRASTINATE_WORKER_DEFAULTS = {
    # Jobs a worker process runs at once (each sync job on a thread of its own, with its own connection).
    "concurrency": int(os.environ.get("JOB_WORKER_CONCURRENCY", "") or 4),
    # Woken by LISTEN/NOTIFY when a job is deferred; this is the fallback poll (and the only way through
    # PgBouncer in transaction mode, which cannot carry LISTEN: set JOB_WORKER_LISTEN=0 there).
    "listen_notify": env_bool("JOB_WORKER_LISTEN", True),
    "fetch_job_polling_interval": float(os.environ.get("JOB_WORKER_POLL_SECONDS", "") or 5),
    # A stopping worker (SIGTERM on deploy) finishes its jobs for this long, then aborts them to run again.
    "shutdown_graceful_timeout": float(os.environ.get("JOB_WORKER_SHUTDOWN_SECONDS", "") or 30),
    # Kept finished jobs stay in the table for the health report until remove_old_jobs takes them.
    "delete_jobs": "never",
}
# Finished jobs are kept this long (crm.remove_old_jobs, daily), failed ones included, for dbhealth.
JOB_RETENTION_HOURS = int(os.environ.get("JOB_RETENTION_HOURS", "") or 7 * 24)

# Imports (imports app, ADR 0025): the largest file, and the most rows and columns, one import takes.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", "") or 20 * 1024 * 1024)
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "") or 100_000)
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "") or 200)
# Webhooks (webhooks/, ADR 0027). Endpoint URLs that resolve to loopback, private, link-local, multicast or
# reserved addresses are refused unless this is on (local development and tests deliver to 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
# The key endpoint secrets are encrypted with at rest (Fernet); by default derived from SECRET_KEY. Set it
# (any long random string) to rotate SECRET_KEY without losing the secrets; a list, comma-separated, newest
# first, to rotate it: older keys still decrypt.
WEBHOOK_SECRET_KEYS = env_list("WEBHOOK_SECRET_KEYS", "")
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "") or 10)
# An attempt's wait before retrying doubles from this; after WEBHOOK_MAX_ATTEMPTS the event is given up.
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "") or 10)
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "") or 10)
# An endpoint whose attempts fail this many times in a row is disabled and the firm's admins are emailed.
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "") or 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "") or "crm@localhost"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "") or "localhost"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "") or 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS (port 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS (port 465); not with EMAIL_USE_TLS
# Seconds an SMTP connection or reply may take: a digest is sent inside the transaction that claims it, and
# a server that never answers must not hold that transaction (Django's default waits forever).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "") or 10)
# Tasks' daily digest (tasks/, ADR 0030): sent once a member's local time has passed this hour (0-23).
TASK_DIGEST_HOUR = int(os.environ.get("TASK_DIGEST_HOUR", "") or 7)
if not 0 <= TASK_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("TASK_DIGEST_HOUR must be an hour of the day, 0 to 23.")

# Profiling with django-silk (crm/profiling.py). Off unless SILK_ENABLED=1, and off means absent: not
# imported, not an installed app, not in the middleware chain, no /silk/ route.
SILK_ENABLED = env_bool("SILK_ENABLED", False)
if SILK_ENABLED:
    from crm import profiling

    try:
        SILK_SAMPLE_PERCENT = float(os.environ.get("SILK_SAMPLE_PERCENT", "") or "10")
    except ValueError:
        SILK_SAMPLE_PERCENT = -1.0
    if not 0 <= SILK_SAMPLE_PERCENT <= 100:
        raise ImproperlyConfigured("SILK_SAMPLE_PERCENT must be a number from 0 to 100.")
    INSTALLED_APPS.append("silk")
    # Outermost but for SecurityMiddleware: the timing covers sessions, authentication and the RLS
    # transaction, whose every statement the recorder right after it captures.
    MIDDLEWARE[1:1] = ["silk.middleware.SilkyMiddleware", "crm.profiling.SilkQueryRecorder"]
    # Silk's rows go through a connection of their own to the same database, as the owner: never the
    # request's (runtime role, inside the RLS transaction). Tests create no second database for it.
    DATABASES[profiling.SILK_DATABASE] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
    DATABASE_ROUTERS = ["crm.profiling.SilkRouter"]
    SILKY_INTERCEPT_FUNC = profiling.sampler(SILK_SAMPLE_PERCENT)
    SILKY_AUTHENTICATION = True  # anonymous → the admin's sign-in page
    SILKY_AUTHORISATION = True
    SILKY_PERMISSIONS = profiling.is_operator  # superusers only: profiles hold every firm's data
    LOGIN_URL = "admin:login"
    SILKY_PYTHON_PROFILER = env_bool("SILK_PYTHON_PROFILER", False)
    SILKY_MAX_RECORDED_REQUESTS = 10_000  # older requests are deleted (checked on 10% of writes)
    SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 10
    SILKY_MAX_REQUEST_BODY_SIZE = 16 * 1024  # bytes; password/token/key fields are masked by silk
    SILKY_MAX_RESPONSE_BODY_SIZE = 0  # response bodies are firm data and not what a profile is for

# CORS (django-cors-headers), for front ends served from another origin. Only the API answers
# cross-origin requests; the admin stays same-origin. Front ends send bearer tokens, never cookies, so
# credentials are not allowed cross-origin and CSRF does not come into it.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
# Whitespace-separated full-match regular expressions, e.g. ^https://[a-z0-9-]+\.example\.com$
CORS_ALLOWED_ORIGIN_REGEXES = os.environ.get("CORS_ALLOWED_ORIGIN_REGEXES", "").split()
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (
    *cors_default_headers,
    "if-match",
    "if-none-match",
    "x-request-id",
    "x-database-position",
    "idempotency-key",
)
CORS_EXPOSE_HEADERS = [
    "ETag",
    "X-Request-ID",
    "Location",
    "Retry-After",
    "X-Database-Position",
    "X-Database",
    "Idempotent-Replayed",
    "RateLimit-Policy",
    "RateLimit",
]
CORS_PREFLIGHT_MAX_AGE = int(os.environ.get("CORS_PREFLIGHT_MAX_AGE", "86400"))

# Input limits (enforced in crm/api/limits.py and crm/api/parsers.py; README, "Limits").
# Largest request body, in bytes, for every content type: a larger one is a 413 before it is read.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", "") or 1024 * 1024)
# Deepest nesting of arrays and objects in a JSON body (400 beyond).
API_MAX_JSON_DEPTH = int(os.environ.get("API_MAX_JSON_DEPTH", "") or 32)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Rows an export (`?format=csv|xlsx` on a list, crm/api/exports.py, ADR 0024) fetches from its server-side
# cursor at a time: the export's memory is one batch, whatever the number of rows.
EXPORT_BATCH_ROWS = int(os.environ.get("EXPORT_BATCH_ROWS", "") or 2000)
if EXPORT_BATCH_ROWS < 1:
    raise ImproperlyConfigured("EXPORT_BATCH_ROWS must be at least 1.")
# Paths whose body is a file to import (imports app): refused past the import's own limit instead (the
# multipart envelope and the other fields get 64 KiB beside the file).
BODY_LIMITS_BY_PATH = dict.fromkeys(("/api/v1/imports/", "/admin/imports/"), IMPORT_MAX_BYTES + 64 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = ["crm.auth_backend.EmailBackend"]
SESSION_COOKIE_HTTPONLY = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `collectstatic` gathers the admin's and the browsable API's files here (gzip and Brotli copies too);
# deployed, WhiteNoise serves them from the app's own processes: no other server needed. Plain names, not
# hashed ones: a deployment that skipped collectstatic gets unstyled pages, never a 500.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if DEBUG:
    # Nothing collected is expected here (runserver serves the apps' files itself): WhiteNoise's warning
    # that STATIC_ROOT is missing is meant for a deployment that forgot collectstatic.
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.authentication.RequestJWTAuthentication",
        "crm.authentication.RequestApiKeyAuthentication",
        "crm.authentication.RequestSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsTenantMember"],
    "DEFAULT_RENDERER_CLASSES": [
        "crm.api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "crm.api.filters.StrictQueryParamsBackend",
        "crm.api.filtering.FilterSetBackend",
        "crm.api.filters.FullTextSearchFilter",
        "crm.api.filters.StrictOrderingFilter",
    ],
    "EXCEPTION_HANDLER": "crm.api.problems.problem_details_handler",
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.CrmAutoSchema",
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Failed sign-ins (API and admin) lock an account, and a client address, out for a while (crm/signin.py):
# SIGNIN_MAX_FAILURES failures of one account, or SIGNIN_MAX_FAILURES_PER_CLIENT from one address, within
# SIGNIN_WINDOW_SECONDS. 0 turns a limit off. Behind proxies, SIGNIN_TRUSTED_PROXIES says how many append
# to X-Forwarded-For (0: REMOTE_ADDR is the client).
SIGNIN_MAX_FAILURES = int(os.environ.get("SIGNIN_MAX_FAILURES", "") or 5)
SIGNIN_MAX_FAILURES_PER_CLIENT = int(os.environ.get("SIGNIN_MAX_FAILURES_PER_CLIENT", "") or 50)
SIGNIN_WINDOW_SECONDS = int(os.environ.get("SIGNIN_WINDOW_SECONDS", "") or 15 * 60)
SIGNIN_TRUSTED_PROXIES = int(os.environ.get("SIGNIN_TRUSTED_PROXIES", "") or 0)

# How long the answer to a POST or PATCH sent with an Idempotency-Key is given back to a retry with the
# key (crm/idempotency.py, ADR 0016): 24 hours, at most 7 days (a CHECK on idempotency_key).
IDEMPOTENCY_WINDOW_SECONDS = int(os.environ.get("IDEMPOTENCY_WINDOW_SECONDS", "") or 24 * 60 * 60)
if not 1 <= IDEMPOTENCY_WINDOW_SECONDS <= 7 * 24 * 60 * 60:
    raise ImproperlyConfigured("IDEMPOTENCY_WINDOW_SECONDS must be from 1 to 604800 (7 days).")

# Rate limits (crm/rate_limits.py, ADR 0019): GCRA buckets per member, per API key and per client address
# (SIGNIN_TRUSTED_PROXIES says which address), shared by every worker and node through PostgreSQL, or Redis
# when REDIS_URL is set. Each policy is <requests>/<seconds>, or 0 for none. Off by default under pytest
# (suites send bursts as one user); the servers a suite starts are told RATE_LIMIT_ENABLED=0 by
# tests/conftest.py unless a test says otherwise.
RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", not TESTING)
RATE_LIMIT_BURST = env_rate("RATE_LIMIT_BURST", "20/1")
RATE_LIMIT_SUSTAINED = env_rate("RATE_LIMIT_SUSTAINED", "600/60")
RATE_LIMIT_WRITES = env_rate("RATE_LIMIT_WRITES", "120/60")
REDIS_URL = os.environ.get("REDIS_URL", "")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# The schema is committed (openapi.yaml) and the TypeScript client in client/ is generated from it:
# `make client` regenerates both, and a test fails when the committed file differs from this.
SPECTACULAR_SETTINGS = {
    "TITLE": "Food-service broker CRM API",
    "DESCRIPTION": (
        "REST API of a CRM for food-service brokers. Row level security is enforced by PostgreSQL: "
        "every list and lookup holds only what the signed-in user may see.\n\n"
        "- **Auth**: `POST /api/v1/auth/token/` with email and password gives an access and a refresh "
        "token; send `Authorization: Bearer <access>`. `auth/token/refresh/` trades the refresh token for "
        "a new pair (the one sent is spent: sent again, it ends the session); `auth/logout/` ends it. "
        "Integrations send an API key an admin created at `api-keys/` instead: `Authorization: Api-Key <key>`.\n"
        "- **Creates** answer 201 with `Location`: the new record's URL.\n"
        "- **Errors** are RFC 9457 `application/problem+json` bodies; a 400's `errors` names each field "
        "or query parameter at fault. Unknown query parameters are a 400, never ignored.\n"
        "- **Lists** are cursor-paginated: follow `next`/`previous`; `?page_size=` 1–200.\n"
        "- **`?expand=`** embeds related objects instead of their ids.\n"
        '- **Concurrency**: single records carry `ETag: "<version>"`; send it as `If-Match` on '
        "writes to get a 412 instead of overwriting someone else's change.\n"
        "- **Retries**: send `Idempotency-Key: <unique key>` on a POST or PATCH; the same request sent again "
        "with the key within 24 hours gets the first answer (`Idempotent-Replayed: true`) and writes nothing.\n"
        "- **Rate limits** per member, API key or client address (by default 20 requests at once, 600 a "
        "minute, 120 writes a minute): every answer carries `RateLimit-Policy` and `RateLimit` "
        "(draft-ietf-httpapi-ratelimit-headers); past a quota, a 429 problem (`code` `rate_limited`) with "
        "`Retry-After`, and nothing was run.\n"
        "- **Batches**: `POST /api/v1/<resource>/batch/` creates, changes and deletes up to 100 records of "
        "organizations, contacts, interactions, opportunities and their products and contacts in one "
        "transaction, all or nothing by default."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Fixed, so operation ids and tags do not depend on which other routes exist.
    "SCHEMA_PATH_PREFIX": r"/api/v1/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.postprocess_schema",
    ],
    # Every choice set gets a name of its own (generated clients expose these as types).
    "ENUM_NAME_OVERRIDES": {
        "MemberRoleEnum": "crm.models.Role",
        "TimeZoneEnum": "crm.timezones.ZONE_CHOICES",
        "ApiKeyRoleEnum": "crm.api_keys.KEY_ROLE_CHOICES",
        "HistoryOperationEnum": "crm.models.HistoryOperation",
        "OrganizationTypeEnum": "organizations.models.OrganizationType",
        "OrganizationPriorityEnum": "organizations.models.Priority",
        "SegmentEnum": "organizations.models.Segment",
        "OrganizationStatusEnum": "organizations.models.OrganizationStatus",
        "TimelineEventKindEnum": "organizations.serializers.TIMELINE_EVENT_KINDS",
        "ContactRoleEnum": "contacts.models.ContactRole",
        "ProductCategoryEnum": "products.models.ProductCategory",
        "ProductStatusEnum": "products.models.ProductStatus",
        "StageEnum": "opportunities.models.Stage",
        "OpportunityStatusEnum": "opportunities.models.OpportunityStatus",
        "OpportunityPriorityEnum": "opportunities.models.OpportunityPriority",
        "InteractionTypeEnum": "interactions.models.InteractionType",
        "SentimentEnum": "interactions.models.Sentiment",
        "TaskPriorityEnum": "tasks.models.TaskPriority",
        "TaskStatusEnum": "tasks.models.TaskStatus",
        # The follow-ups report's entries say their kind (one value each).
        "FollowUpInteractionKindEnum": ["interaction"],
        "FollowUpTaskKindEnum": ["task"],
        "FollowUpOpportunityKindEnum": ["opportunity"],
        # A batch operation's kind (crm.api.batch): one value each, the discriminator of the operation.
        "BatchCreateEnum": ["create"],
        "BatchUpdateEnum": ["update"],
        "BatchDeleteEnum": ["delete"],
        "ImportKindEnum": "imports.models.ImportKind",
        "ImportStateEnum": "imports.models.ImportState",
        "ImportModeEnum": "imports.models.ImportMode",
        "ImportFileTypeEnum": "imports.models.FileType",
        "ImportRowActionEnum": "imports.models.RowAction",
        "ImportEncodingEnum": "imports.parsing.ENCODING_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        # Registration chatter in every process; the worker's own lines (jobs started, finished) stay.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.manager": {"level": "WARNING"},
        "procrastinate.jobs": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}

# A CHECK written as RawSQL (sales_unmatched's JSON shape) is the database's to hold: the model's
# full_clean() not re-checking it is by design here (the database is the last word on every rule).
SILENCED_SYSTEM_CHECKS = ["models.W045"]
