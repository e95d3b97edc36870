"""Reading the change feed: the entries of history after a position that no later commit can precede.

Entries are served in (xact, id) order, and only those whose `xact` is below the reading snapshot's
horizon (ADR 0026): its oldest transaction still running, other databases' left out (crm_feed_horizon,
crm 0027); every transaction of this database below it has finished, so no entry can ever appear before the last one
served, however late its transaction commits. An entry of a transaction still running (or of one that
committed while an older one still runs) waits for a later read. One statement reads the horizon and
the rows, under the caller's row level security (history's policy is the described row's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection

from changes.positions import Position
from changes.resources import RESOURCE_OF_TABLE

# History's operations as the feed names them. A merge (ADR 0029) is an entry on both sides: the merged
# record's (a tombstone: it is deleted, `merged_into_id` says where it went) and the survivor's
# (`merged_from`).
ACTIONS = {
    "insert": "create",
    "update": "update",
    "delete": "delete",
    "restore": "restore",
    "purge": "purge",
    "merge": "merge",
}
ACTION_NAMES = tuple(sorted(set(ACTIONS.values())))
TOMBSTONES = frozenset({"delete", "purge"})
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

FEED_SQL = """
SELECT h.id, h.xact::text, h.table_name, h.row_id, h.operation, h.occurred_at, h.actor_id, h.request_id,
       h.changes::text, h.scope_principal_id
  FROM history h
 WHERE h.tenant_id = %(tenant)s
   AND (h.xact, h.id) > (%(xact)s::xid8, %(id)s::bigint)
   AND h.xact < (SELECT crm_feed_horizon(pg_current_snapshot()))
   AND h.table_name = ANY (%(tables)s::text[])
   {principals}
 ORDER BY h.xact, h.id
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Change:
    """One entry of the feed: a record's create, update, delete, restore, purge or merge."""

    id: int
    position: Position
    resource: str
    record_id: int
    action: str
    occurred_at: dt.datetime
    actor: int | None
    request_id: str
    changes: dict[str, Any]
    principal_id: int | None

    @property
    def tombstone(self) -> bool:
        if self.action == "merge":  # the merged side is gone; the survivor lives on
            return "merged_into_id" in self.changes
        return self.action in TOMBSTONES


@dataclass(frozen=True)
class FeedPage:
    changes: list[Change]
    next: Position
    has_more: bool


def feed_page(
    *,
    tenant_id: int,
    after: Position,
    resources: frozenset[str] | None = None,
    principals: frozenset[int] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> FeedPage:
    """The changes after `after` that the current RLS context sees, oldest first, at most `limit`;
    `resources` (API resource names) and `principals` (the record's principal) narrow them. Runs on the
    caller's connection: a request's, or a job's acting as a member (crm.rls.acting_as)."""
    tables = RESOURCE_OF_TABLE
    wanted = [table for table, resource in tables.items() if resources is None or resource in resources]
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "xact": str(after.xact),
        "id": after.id,
        "tables": wanted,
        "limit": limit + 1,
        "principals": sorted(principals or ()),
    }
    sql = FEED_SQL.format(
        principals="AND h.scope_principal_id = ANY (%(principals)s::bigint[])" if principals else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    more = len(rows) > limit
    changes = [_change(row, tables) for row in rows[:limit]]
    return FeedPage(changes=changes, next=changes[-1].position if changes else after, has_more=more)


def _change(row: tuple[Any, ...], tables: dict[str, str]) -> Change:
    (id_, xact, table, row_id, operation, occurred_at, actor, request_id, changes, principal) = row
    action = ACTIONS.get(operation, operation)
    return Change(
        id=id_,
        position=Position(int(xact), id_),
        resource=tables[table],
        record_id=row_id,
        action=action,
        occurred_at=occurred_at,
        actor=actor,
        request_id=request_id,
        # A purge's tombstone is the record's id: its last values are not news.
        changes={} if action == "purge" else orjson.loads(changes),
        principal_id=principal,
    )


def horizon_position() -> Position:
    """A position just before every entry not yet committed-and-settled: what a reader starting now (a new
    webhook endpoint) begins after, so it gets every change committed from now on (and perhaps a few
    committed just before)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_feed_horizon(pg_current_snapshot())::text")
        xmin = int(cursor.fetchone()[0])
    return Position(max(xmin - 1, 0), 2**63 - 1)
