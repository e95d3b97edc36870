"""A replica failing in the middle of a request costs the client nothing: the request is served again by
the primary. In-process: `replica_1` is the test's own connection (so it sees the test's rows), reported
healthy, and failures are injected while the middleware serves from it, where a real standby fails. The
real standby: tests/ops/test_replicas.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError

from crm import replicas, rls
from tests.conftest import client_for
from tests.stand_in_replica import stand_in_replica

pytestmark = pytest.mark.django_db
URL = "/api/v1/organizations/"


ON_REPLICA: dict[str, bool] = {"now": False}


@pytest.fixture
def replica(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    serving = replicas.serving

    @contextmanager
    def marked(name: str | None) -> Iterator[None]:
        ON_REPLICA["now"] = name is not None
        try:
            with serving(name):
                yield
        finally:
            ON_REPLICA["now"] = False

    monkeypatch.setattr(replicas, "serving", marked)
    with stand_in_replica(settings, monkeypatch) as alias:
        yield alias


def test_a_healthy_replica_serves_a_read(firm, replica):
    response = client_for(firm.manager).get(URL)
    assert (response.status_code, response["X-Database"]) == (200, "replica")


def test_a_replica_failing_at_the_context_statement_is_replaced_by_the_primary(firm, replica, monkeypatch):
    begin = rls.begin

    def failing(*args: Any, **kwargs: Any) -> Any:
        if ON_REPLICA["now"]:
            raise OperationalError("canceling statement due to conflict with recovery")
        return begin(*args, **kwargs)

    monkeypatch.setattr(rls, "begin", failing)
    downs: list[str] = []  # marked down (without closing: here the replica's connection is the test's)
    monkeypatch.setattr(replicas, "mark_down", lambda alias, error: downs.append(alias))
    response = client_for(firm.manager).get(URL)
    assert (response.status_code, response["X-Database"]) == (200, "primary")
    assert downs == [replica]
    assert {row["name"] for row in response.json()["results"]} >= {firm.customer.name}


def test_a_committed_write_keeps_its_answer_when_its_position_cannot_be_read(firm, replica, monkeypatch):
    def unreadable() -> str:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(replicas, "primary_position", unreadable)
    response = client_for(firm.manager).post(
        URL, {"name": "Committed Diner", "type": "prospect"}, format="json"
    )
    assert response.status_code == 201 and "X-Database-Position" not in response
    assert client_for(firm.manager).get(f"{URL}{response.json()['id']}/").status_code == 200


def test_a_position_the_primary_has_not_reached_goes_to_the_primary_without_waiting(
    firm, replica, monkeypatch
):
    monkeypatch.setattr(replicas, "_replayed", lambda *args: pytest.fail("waited for a made-up position"))
    healthy = replicas.ReplicaState(
        replica, in_recovery=True, lag_seconds=0.0, primary_seen=replicas.lsn("0/100"), ours=True
    )
    monkeypatch.setattr(replicas, "state_of", lambda name, fresh=False: healthy)
    response = client_for(firm.manager).get(URL, HTTP_X_DATABASE_POSITION="FFFFFFFF/FFFFFFFF")
    assert (response.status_code, response["X-Database"]) == (200, "primary")
