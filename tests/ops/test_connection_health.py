"""A reused database connection is checked without a round trip, and a closed one is still found."""

from __future__ import annotations

import select
import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_base

from crm.postgresql.base import DatabaseWrapper


def _count_django_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    results: list[bool] = []
    parent = django_base.DatabaseWrapper.is_usable

    def counted(self: django_base.DatabaseWrapper) -> bool:
        result = bool(parent(self))
        results.append(result)
        return result

    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", counted)
    return results


@pytest.mark.django_db
def test_an_idle_connection_is_usable_without_a_query_and_one_the_server_closed_is_not(monkeypatch):
    assert isinstance(connections["default"], DatabaseWrapper)
    other = connections.create_connection("default")
    other.ensure_connection()
    try:
        round_trips = _count_django_checks(monkeypatch)
        assert other.is_usable() and round_trips == []  # the idle socket says nothing: no SELECT 1

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s::int)", [other.connection.info.backend_pid])
        socket = other.connection.pgconn.socket
        deadline = time.monotonic() + 10
        while not select.select([socket], [], [], 0.1)[0]:
            assert time.monotonic() < deadline, "the terminated backend never closed its socket"

        assert not other.is_usable()
        assert round_trips == [False]  # Django's own check confirmed it, once
    finally:
        other.close()


@pytest.mark.django_db
def test_a_connection_whose_socket_descriptor_is_past_1023_is_still_found_usable():
    import os

    spare = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # a busy worker's many sockets
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        assert other.connection.pgconn.socket > 1023
        assert other.is_usable()
    finally:
        other.close()
        for descriptor in spare:
            os.close(descriptor)
