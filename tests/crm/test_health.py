"""Liveness and readiness probes."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm import health


def test_healthz_answers_without_touching_the_database(db):
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert len(queries) == 0


def test_readyz_is_ready_as_the_runtime_role_with_every_migration_applied(db, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    response = APIClient().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok (as crm_app)"
    assert body["checks"]["migrations"] == "ok"


def test_readyz_is_not_ready_while_a_migration_is_pending(db, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)

    class Pending:
        def __init__(self, connection):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [("crm", "9999_pending")]

    monkeypatch.setattr(health, "MigrationExecutor", Pending)
    response = APIClient().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"
