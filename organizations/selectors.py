"""Reads on organizations that are more than a queryset."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection

# Newest first: the organization's interactions, its opportunities' stage changes (from history), and
# the contacts and opportunities added to it. One statement; each branch is under the reader's RLS.
_TIMELINE_SQL = """
SELECT at, kind, id, title, actor_id, detail FROM (
    SELECT i.occurred_at AS at, 'interaction' AS kind, i.id, i.subject AS title, i.user_id AS actor_id,
           jsonb_build_object('type', i.type, 'opportunity', i.opportunity_id, 'contact', i.contact_id,
                              'sentiment', i.sentiment, 'outcome', i.outcome) AS detail
      FROM interaction i
     WHERE i.organization_id = %(organization)s AND i.deleted_at IS NULL
    UNION ALL
    SELECT h.occurred_at, 'stage_change', h.id, o.name, h.actor_id,
           jsonb_build_object('opportunity', o.id, 'from', h.changes -> 'stage' -> 0, 'to', h.changes -> 'stage' -> 1)
      FROM opportunity o
      JOIN history h ON h.table_name = 'opportunity' AND h.row_id = o.id
     WHERE (o.customer_id = %(organization)s OR o.distributor_id = %(organization)s OR o.principal_id = %(organization)s)
       AND o.deleted_at IS NULL AND h.operation = 'update' AND h.changes ? 'stage'
    UNION ALL
    SELECT c.created_at, 'contact_added', c.id, trim(c.first_name || ' ' || c.last_name), c.created_by_id,
           jsonb_build_object('title', c.title, 'role', c.role, 'email', c.email)
      FROM contact c
     WHERE c.organization_id = %(organization)s AND c.deleted_at IS NULL
    UNION ALL
    SELECT o.created_at, 'opportunity_added', o.id, o.name, o.created_by_id,
           jsonb_build_object('principal', o.principal_id, 'customer', o.customer_id, 'stage', o.stage)
      FROM opportunity o
     WHERE (o.customer_id = %(organization)s OR o.distributor_id = %(organization)s OR o.principal_id = %(organization)s)
       AND o.deleted_at IS NULL
) feed
WHERE %(before_at)s::timestamptz IS NULL OR (at, kind, id) < (%(before_at)s::timestamptz, %(before_kind)s::text, %(before_id)s::bigint)
ORDER BY at DESC, kind DESC, id DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str
    id: int
    title: str
    actor: int | None
    detail: dict[str, Any]

    @property
    def position(self) -> tuple[str, str, int]:
        return (self.at.isoformat(), self.kind, self.id)


def organization_timeline(
    *, organization_id: int, before: tuple[str, str, int] | None = None, limit: int = 50
) -> list[TimelineEvent]:
    """Up to `limit` events strictly older than `before` (a previous page's last position)."""
    at, kind, event_id = before if before is not None else (None, None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            _TIMELINE_SQL,
            {
                "organization": organization_id,
                "before_at": at,
                "before_kind": kind,
                "before_id": event_id,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    # Django leaves jsonb as text on raw cursors (its JSONField decodes it itself).
    return [
        TimelineEvent(
            at, kind, event_id, title, actor, json.loads(detail) if isinstance(detail, str) else detail
        )
        for at, kind, event_id, title, actor, detail in rows
    ]
