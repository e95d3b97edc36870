"""WSGI entry point for benchmark servers: crm.wsgi plus two switches read from the environment.

- BENCH_QUERY_COUNT=1: every response carries X-Query-Count, the SQL statements the request ran
  (counted with Django's execute_wrapper on the thread's connection).
- BENCH_RLS_BYPASS=1: requests stay the connection's own role instead of switching to the runtime role,
  so a superuser owner reads past row level security (the baseline "endpoint without RLS"); the RLS
  variables are still set, so the views' own tenant filter applies. Never for real traffic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from crm.wsgi import application as django_application

StartResponse = Callable[..., Any]

COUNT_QUERIES = os.environ.get("BENCH_QUERY_COUNT") == "1"

if os.environ.get("BENCH_RLS_BYPASS") == "1":
    from django.db import connection

    from crm import rls

    rls.runtime_role = lambda: str(connection.settings_dict["USER"])


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if not COUNT_QUERIES:
        return django_application(environ, start_response)
    from django.db import connection

    count = 0

    def counter(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        # Django calls this once the response is complete (bodies here are not streamed).
        return start_response(status, [*headers, ("X-Query-Count", str(count))], exc_info)

    with connection.execute_wrapper(counter):
        return django_application(environ, start)
