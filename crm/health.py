"""Liveness and readiness probes: unauthenticated, cheap, outside the API's versioning."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

_migrations_applied = False  # once true, stays true for this process (a deploy restarts it)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. Touches no database."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers as the runtime role and every migration is applied."""
    global _migrations_applied
    connection = connections[DEFAULT_DB_ALIAS]
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            row = cursor.fetchone()
        checks["database"] = f"ok (as {row[0] if row else '?'})"
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            _migrations_applied = not pending
            checks["migrations"] = "ok" if not pending else f"{len(pending)} not applied"
        else:
            checks["migrations"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value.startswith("ok") for value in checks.values()) and "migrations" in checks
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )
