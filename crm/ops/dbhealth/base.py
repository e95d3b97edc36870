"""What every check is built from: the thresholds, the verdict (Check), the cursor (Db) and the grading helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from crm import rls

Status = Literal["ok", "warn", "fail"]
SEVERITY: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}
# Catalog rows of user objects only: not the system's, not TOAST, not other sessions' temporary schemas.
USER_SCHEMA = sql.SQL(
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
)


@dataclass(frozen=True)
class Thresholds:
    """Where a figure turns warn or fail (the package's docstring). Tests pass smaller ones to plant faults cheaply."""

    wraparound_warn: float = 0.5
    wraparound_fail: float = 0.8
    sequence_warn: float = 0.5
    sequence_fail: float = 0.8
    cache_hit_warn: float = 0.99
    cache_min_reads: int = 100_000
    bloat_warn_ratio: float = 0.5
    bloat_warn_bytes: int = 10 * 2**20
    bloat_fail_ratio: float = 0.8
    bloat_fail_bytes: int = 2**30
    connections_warn: float = 0.8
    connections_fail: float = 0.95
    idle_in_transaction_warn_s: float = 60
    idle_in_transaction_fail_s: float = 600
    long_query_warn_s: float = 60
    long_query_fail_s: float = 1800
    blocked_warn_s: float = 10
    blocked_fail_s: float = 60
    replication_lag_warn_s: float = 30
    replication_lag_fail_s: float = 300
    replication_lag_warn_bytes: int = 256 * 2**20
    replication_lag_fail_bytes: int = 4 * 2**30
    slot_retained_warn_bytes: int = 2**30
    slot_retained_fail_bytes: int = 10 * 2**30
    autovacuum_lag_s: float = 86_400
    job_wait_warn_s: float = 60
    job_wait_fail_s: float = 600
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 2_000


@dataclass
class Check:
    """One check's verdict: figures to judge it by, the rows behind it, and what to do about them."""

    name: str
    status: Status
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    remedy: str = ""
    details: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Db:
    """What a check needs: the owner's cursor, the thresholds and who the runtime role is."""

    def __init__(self, connection: BaseDatabaseWrapper, thresholds: Thresholds) -> None:
        self.connection = connection
        self.thresholds = thresholds
        self.runtime_role = rls.runtime_role()

    def rows(self, query: str | sql.Composable, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            if isinstance(query, sql.Composable):
                query = query.as_string(cursor.connection)
            cursor.execute(query, params)
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, query: str | sql.Composable, params: Sequence[Any] = ()) -> dict[str, Any]:
        found = self.rows(query, params)
        return found[0] if found else {}

    def fresh_activity(self) -> None:
        """pg_stat_* views are read once per transaction and then cached: read them anew."""
        self.rows("SELECT pg_stat_clear_snapshot()")


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda status: SEVERITY[status], default="ok")


def graded(value: float, warn: float, fail: float) -> Status:
    return "fail" if value >= fail else "warn" if value >= warn else "ok"


def mb(size: float | int | None) -> str:
    return f"{(size or 0) / 2**20:,.1f} MB"


def found(
    name: str,
    rows: list[dict[str, Any]],
    status: Status,
    what: str,
    *,
    why: str,
    remedy: str,
    **figures: Any,
) -> Check:
    """The common shape: no rows is ok, otherwise `status` with the rows as details."""
    if not rows:
        return Check(name, "ok", f"no {what}", {"count": 0, **figures})
    return Check(name, status, f"{len(rows)} {what}", {"count": len(rows), **figures}, remedy, rows, why)
