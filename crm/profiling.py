"""django-silk wiring (only imported when SILK_ENABLED=1): sampling, who reads profiles, and SQL capture.

- Profiles hold the SQL (with its values) of every firm's requests, so they are an operator's tool:
  only Django superusers read /silk/ (`is_operator`); a firm's admin (staff) gets a 403.
- Silk's own rows are written and read on a connection of their own (the `silk` database alias, same
  database, the owner role; `SilkRouter`). The request's connection runs as the runtime role inside
  the RLS transaction, which has no grant on silk's tables — and gets none, so a tenant request can
  never read another firm's profiles — and silk's writes neither join nor outlive that transaction.
- Silk records only the statements Django's SQL compiler runs and EXPLAINs each one. Here every
  statement of the request's connection is recorded instead (the RLS context, reports' raw SQL,
  savepoints: what the benchmark's X-Query-Count counts) and nothing is EXPLAINed, which would double
  the database work the timings are meant to show (`SilkQueryRecorder`).
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SILK_DATABASE = "silk"

# Requests never recorded: sign-in bodies carry passwords and their answers tokens (silk masks request
# fields by name but keeps response bodies and Set-Cookie headers); probes would only crowd the sample.
UNRECORDED_PREFIXES = (
    "/api/v1/auth/",
    "/admin/login/",
    "/admin/logout/",
    "/admin/password_change/",
    "/healthz",
    "/readyz",
)


def sampler(percent: float) -> Callable[[HttpRequest], bool]:
    """SILKY_INTERCEPT_FUNC: record `percent` % of requests, never those under UNRECORDED_PREFIXES."""

    def should_record(request: HttpRequest) -> bool:
        if request.path_info.startswith(UNRECORDED_PREFIXES):
            return False
        return percent >= 100 or random.random() * 100 < percent

    return should_record


def is_operator(user: Any) -> bool:
    """SILKY_PERMISSIONS: profiles cross firms, so only the service's operators (superusers) read them."""
    return bool(user is not None and user.is_active and user.is_superuser)


class SilkRouter:
    """Silk's models on the `silk` alias; everything else where it was."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return SILK_DATABASE if model._meta.app_label == "silk" else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return SILK_DATABASE if model._meta.app_label == "silk" else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # Both aliases are one database: `migrate` (default alias) creates every table, silk's included.
        return False if db == SILK_DATABASE else None


def _keep_silk_off_the_compiler() -> None:
    """Silk wraps SQLCompiler.execute_sql on its first request unless `_execute_sql` is already there;
    setting it to the original keeps silk's wrapper (compiler statements only, one EXPLAIN each) out,
    so each statement is recorded once, by SilkQueryRecorder."""
    from django.db.models.sql.compiler import SQLCompiler

    original = getattr(SQLCompiler, "_execute_sql", SQLCompiler.execute_sql)
    SQLCompiler._execute_sql = original  # type: ignore[attr-defined]
    SQLCompiler.execute_sql = original  # type: ignore[method-assign]


class SilkQueryRecorder:
    """Middleware right after silk's: records every statement of a sampled request into silk's collector.

    Statements go through an execute_wrapper on the request's connection, so raw SQL counts like ORM
    SQL; silk's own writes use the `silk` alias and stay out of it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from silk.collector import DataCollector

        self.get_response = get_response
        self.collector = DataCollector()
        _keep_silk_off_the_compiler()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not getattr(request, "silk_is_intercepted", False):
            return self.get_response(request)
        with connection.execute_wrapper(self._record):
            return self.get_response(request)

    def _record(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        silk_request = self.collector.request
        if silk_request is None:
            return execute(sql, params, many, context)
        started = timezone.now()
        try:
            return execute(sql, params, many, context)
        finally:
            ended = timezone.now()
            if many:
                text = f"{sql} -- executemany"
            else:
                try:  # the statement as sent, values bound (psycopg binds client-side)
                    text = connection.ops.last_executed_query(context["cursor"], sql, params) or sql
                except Exception:  # a failed statement may have none: its template will do
                    text = sql
            self.collector.register_query(
                {
                    "query": text,
                    "start_time": started,
                    "end_time": ended,
                    # Innermost frame first, as silk's own recorder stores it (its UI expects that).
                    "traceback": "".join(reversed(traceback.format_stack())),
                    "request": silk_request,
                }
            )
