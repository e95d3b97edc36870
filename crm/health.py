"""Liveness and readiness probes: unauthenticated, cheap, outside the API's versioning."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from crm import replicas

_migrations_applied = False  # once true, stays true for this process (a deploy restarts it)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. Touches no database."""
    return JsonResponse({"status": "ok"})


RETRY_AFTER_SECONDS = "5"


def _queue(connection: Any) -> dict[str, Any] | str:
    """The job queue's figures (counts only: the probe is public). They do not decide readiness: a web
    process serves requests whether or not a worker runs; dbhealth's job_queue check judges them."""
    from crm.jobs import queue_state

    try:
        with connection.cursor() as cursor:  # one statement, in autocommit: no transaction of its own
            return queue_state(cursor)
    except (DatabaseError, InterfaceError) as exc:
        return f"unavailable: {type(exc).__name__}"


def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers as the runtime role and every migration is applied; with the job queue's figures.

    Outside the RLS middleware (it would fail before this could answer), so the probe switches to the
    runtime role itself, in a transaction of its own; any failure to reach the database is a 503.
    """
    global _migrations_applied
    from crm import rls

    connection = connections[DEFAULT_DB_ALIAS]
    checks: dict[str, str] = {}
    try:
        with transaction.atomic():
            rls.begin(None)
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                row = cursor.fetchone()
            if connection.in_atomic_block and not connection.needs_rollback:
                rls.end()
        checks["database"] = f"ok (as {row[0] if row else '?'})"
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            _migrations_applied = not pending
            checks["migrations"] = "ok" if not pending else f"{len(pending)} not applied"
        else:
            checks["migrations"] = "ok"
    except (DatabaseError, InterfaceError) as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value.startswith("ok") for value in checks.values()) and "migrations" in checks
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if ready:
        body["queue"] = _queue(connection)
    if replicas.replica_aliases():
        # Each replica's state: one that is down or lagging is skipped, so the service stays ready.
        body["replicas"] = replicas.describe_all(fresh=False)
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = RETRY_AFTER_SECONDS
    return response
