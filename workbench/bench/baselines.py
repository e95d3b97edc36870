"""Baselines for list and detail pages, on the same data and policies as the endpoint:

- "ORM SQL": the statements the request runs (captured once through Django's test client), replayed
  alone in psycopg, in one transaction each time: the database's and the driver's share of a request.
- "JSON SQL": the request's context statement plus one statement returning the page as JSON
  (json_agg over the ORM's own page query, the serializer's fields: PostgREST-style).
- "no RLS": the endpoint itself, served with RLS bypassed (workbench.bench.wsgi, BENCH_RLS_BYPASS=1).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import resolve
from psycopg.conninfo import make_conninfo

from workbench.bench.load import Call, Measurement
from workbench.bench.server import connection_params
from workbench.bench.stats import Latency

TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})


@dataclass(frozen=True)
class CapturedRequest:
    status: int
    statements: list[str]
    context: str  # the statement setting the role and the RLS variables (the middleware's)
    page: str | None  # the statement reading the page's rows
    json_page: str | None  # that page as one JSON statement


def _run(call: Call, token: str) -> tuple[int, list[str]]:
    client = Client(
        HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json"
    )
    # Rate limits off: the baselines replay the request's own SQL, not the limiter's statement.
    with override_settings(RATE_LIMIT_ENABLED=False), CaptureQueriesContext(connection) as queries:
        response = client.generic(
            call.method, call.path, data=call.payload() or b"", content_type="application/json"
        )
    # Django logs BEGIN/COMMIT too (Django 5.2); the replay wraps each run in its own transaction.
    statements = [
        q["sql"] for q in queries.captured_queries if q["sql"].split(" ", 1)[0] not in TRANSACTION_CONTROL
    ]
    return response.status_code, statements


def _page(statements: Sequence[str], model: type[Model] | None) -> str | None:
    if model is None:
        return None
    table = f'FROM "{model._meta.db_table}"'
    return next((s for s in statements[1:] if s.startswith("SELECT") and table in s), None)


def capture(call: Call, token: str) -> CapturedRequest:
    """Run `call` once in-process and keep the SQL it ran (parameters inlined, as psycopg sent it).

    The JSON baseline is json_agg over the page query of the rows' columns: when the endpoint reads its
    rows as JSON written by PostgreSQL (crm.api.sql_json), that query is taken from a second run on the
    read plan's Python path."""
    from crm.api.fast import JSON_COLUMN
    from crm.api.viewsets import TenantModelViewSet

    status, statements = _run(call, token)
    serializer = getattr(
        getattr(resolve(call.path.split("?")[0]).func, "cls", None), "serializer_class", None
    )
    model: type[Model] | None = getattr(getattr(serializer, "Meta", None), "model", None)
    page = _page(statements, model)
    columns_page = page
    if page is not None and f'AS "{JSON_COLUMN}"' in page:
        served_as_json = TenantModelViewSet.writes_sql_json
        TenantModelViewSet.writes_sql_json = lambda self, plan: False  # type: ignore[method-assign]
        try:
            columns_page = _page(_run(call, token)[1], model)
        finally:
            TenantModelViewSet.writes_sql_json = served_as_json  # type: ignore[method-assign]
    json_page = None
    if columns_page is not None and serializer is not None and model is not None:
        json_page = json_page_sql(columns_page, model, serializer.Meta.fields)
    context = next((s for s in statements if s.startswith("SELECT set_config('role'")), "")
    return CapturedRequest(status, statements, context, page, json_page)


def json_page_sql(page: str, model: type[Model], fields: Sequence[str]) -> str:
    """`page` (a SELECT of the model's columns, or of the API's fields by name as the read plans of
    crm.api.fast select them) as one JSON array of the API's fields, built in SQL."""
    pairs = []
    for name in fields:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        column = name if f'AS "{name}"' in page else getattr(field, "column", None)
        if column:
            pairs.append(f"'{name}', q.\"{column}\"")
    return f"SELECT coalesce(json_agg(json_build_object({', '.join(pairs)})), '[]'::json) FROM ({page}) q"  # noqa: S608


def connect(settings_dict: Mapping[str, Any]) -> psycopg.Connection[Any]:
    """A connection like Django's own: client-side parameter binding, no server-side prepares."""
    conninfo = make_conninfo("", **connection_params(settings_dict))
    return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)


def replay(
    conn: psycopg.Connection[Any], statements: Sequence[str], *, max_requests: int, seconds: float
) -> Measurement:
    """Run `statements` in one transaction, again and again, fetching every row; one latency per run."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    cursor = psycopg.ClientCursor(conn)
    while len(latencies) < max_requests and time.perf_counter() < deadline:
        begun = time.perf_counter()
        with conn.transaction():
            for statement in statements:
                cursor.execute(statement.encode())
                if cursor.description is not None:
                    cursor.fetchall()
        latencies.append((time.perf_counter() - begun) * 1000)
    elapsed = time.perf_counter() - started
    return Measurement("psycopg", 1, len(latencies), 0, elapsed, Latency.of(latencies))
