"""CPU per request of the benchmark's servers: the app server's process tree and its PostgreSQL backends,
read from /proc over a measured window; the workers' resident memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.bench import procstat

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Reading:
    """CPU ticks so far: the server's tree, and each database backend's own."""

    server: int | None
    database: dict[int, int] | None


@dataclass(frozen=True)
class Spent:
    """CPU seconds used between two readings (None: not measurable)."""

    server: float | None
    database: float | None

    def per_request_ms(self, requests: int) -> tuple[float | None, float | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None or requests <= 0 else round(value * 1000 / requests, 3)

        return ms(self.server), ms(self.database)


class Meter:
    """One server's CPU: its main process `root` (gunicorn's master, granian's main process) and its
    descendants (the workers, threads included), and the database backends `backends()` names (None when
    the database's processes are not on this machine)."""

    def __init__(self, root: int | None, backends: Callable[[], list[int]] | None) -> None:
        self.root = root
        self.backends = backends

    def read(self) -> Reading:
        server = procstat.tree_ticks(self.root) if self.root is not None else None
        database = procstat.ticks_of(self.backends()) if self.backends is not None else None
        return Reading(server, database)

    def since(self, before: Reading) -> Spent:
        after = self.read()
        server = None
        if before.server is not None and after.server is not None:
            server = procstat.seconds(after.server - before.server)
        database = None
        if before.database is not None and after.database is not None:
            database = procstat.seconds(procstat.ticks_between(before.database, after.database))
        return Spent(server, database)


def local_backend_problem(cursor: Any, host: str | None) -> str | None:
    """Why the database's backends cannot be read from this machine's /proc, or None when they can: the
    server is on a unix socket or a loopback address, and the backend of `cursor`'s own connection is a
    `postgres` process here (a server in a container or elsewhere has pids of its own namespace)."""
    if host and not host.startswith("/") and host not in LOCAL_HOSTS:
        return f"the database server ({host}) is not on this machine"
    cursor.execute("SELECT pg_backend_pid()")
    pid = int(cursor.fetchone()[0])
    found = procstat.stat(pid)
    if found is None or not found.comm.startswith("postgres"):
        return f"its backends are not visible in this machine's /proc (backend pid {pid})"
    return None


def backends_named(cursor: Any, application_name: str) -> Callable[[], list[int]]:
    """A function listing the pids of this database's sessions with that application_name, and of their
    parallel workers (leader_pid, PostgreSQL 13+), as pg_stat_activity shows them now."""

    def pids() -> list[int]:
        cursor.execute(
            "WITH named AS (SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s)"
            " SELECT pid FROM named UNION"
            " SELECT pid FROM pg_stat_activity WHERE leader_pid IN (SELECT pid FROM named)",
            [application_name],
        )
        return [int(row[0]) for row in cursor.fetchall()]

    return pids


def fixed_backends(*pids: int) -> Callable[[], list[int]]:
    """The backends of connections held open throughout (a baseline's own)."""
    return lambda: list(pids)


@dataclass(frozen=True)
class Memory:
    """Resident size (VmRSS) of a server's workers, summed, after the warm-up pass over every operation
    and at the end of the run; `requests`: the measured requests the server answered in between (None
    when not counted)."""

    server: str
    workers_start: int
    workers_end: int
    start_bytes: int
    end_bytes: int
    requests: int | None = None

    @property
    def change_percent(self) -> float | None:
        return None if self.start_bytes <= 0 else (self.end_bytes / self.start_bytes - 1) * 100


def workers_resident(root: int) -> tuple[int, int]:
    """(workers, their summed VmRSS in bytes): the workers are the main process's direct children, in
    gunicorn (of its master) and in granian alike."""
    sizes = [size for pid in procstat.children(root) if (size := procstat.resident_bytes(pid)) is not None]
    return len(sizes), sum(sizes)
