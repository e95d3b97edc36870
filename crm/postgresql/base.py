"""Django's PostgreSQL backend, with a health check of a reused connection that costs no round trip, and
the switch that lets a block of statements be prepared on the server (`prepared`).

With CONN_HEALTH_CHECKS Django runs `SELECT 1` before the first query of every request that reuses a
connection: a round trip, in Python and in PostgreSQL, on every request. A connection idle between requests
has nothing to say, so when the server has closed it (a restart, a terminated backend, a cut proxy) its
socket is readable: the server's last error message, or the end of the stream. One non-blocking poll of the
socket tells; only then does Django's own check (the `SELECT 1`) decide. A connection that died without a
word (a silent network) fails at its first statement, as it would have at Django's `SELECT 1`.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base


@contextmanager
def prepared(using: str = "default") -> Iterator[None]:
    """Statements run inside are prepared on the server once one has run DATABASE_PREPARE_THRESHOLD times on
    the connection (with DATABASE_PREPARED_STATEMENTS; otherwise nothing changes).

    For statements whose best plan does not depend on their values: the request's context statement and
    the read path's pages, whose RLS values PostgreSQL reads at run time anyway (a generic plan is the
    custom plan without the planning). Not for statements whose plan rests on their values (a report's
    book of literal ids, date ranges): there a generic plan made the win-loss report's database CPU 2.6x.
    """
    if not settings.DATABASE_PREPARED_STATEMENTS:
        yield
        return
    wrapper = connections[using]
    wrapper.ensure_connection()
    psycopg_connection = wrapper.connection
    previous = psycopg_connection.prepare_threshold
    psycopg_connection.prepare_threshold = settings.DATABASE_PREPARE_THRESHOLD
    try:
        yield
    finally:
        psycopg_connection.prepare_threshold = previous


class DatabaseWrapper(base.DatabaseWrapper):
    # Set when a statement this connection prepared no longer fits its table (a migration changed the type
    # of a column, "cached plan must not change result type", crm.api.problems): every later use would fail
    # the same way, so the connection is not reused.
    stale_prepared_statements = False

    def connect(self) -> None:
        super().connect()
        self.stale_prepared_statements = False

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poll = select.poll()  # not select.select(): it refuses descriptors past 1023 (a busy worker)
            poll.register(connection.pgconn.socket, select.POLLIN)
            readable = bool(poll.poll(0))
        except (OSError, ValueError):
            return False
        if readable:  # something arrived unasked: the server is (probably) gone; Django's check decides
            return bool(super().is_usable())
        # A connection with a stale prepared statement is closed and opened afresh, its statements gone.
        return not self.stale_prepared_statements
