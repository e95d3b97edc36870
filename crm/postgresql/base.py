"""Django's PostgreSQL backend, with a health check of a reused connection that costs no round trip.

With CONN_HEALTH_CHECKS Django runs `SELECT 1` before the first query of every request that reuses a
connection: a round trip, in Python and in PostgreSQL, on every request. A connection idle between requests
has nothing to say, so when the server has closed it (a restart, a terminated backend, a cut proxy) its
socket is readable: the server's last error message, or the end of the stream. One non-blocking poll of the
socket tells; only then does Django's own check (the `SELECT 1`) decide. A connection that died without a
word (a silent network) fails at its first statement, as it would have at Django's `SELECT 1`.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        if readable:  # something arrived unasked: the server is (probably) gone; Django's check decides
            return bool(super().is_usable())
        return True
