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


# Candidate duplicates among the live organizations the reader sees (ADR 0029), one statement a page. A
# name's words are its crm_name_key() split at punctuation, dashes and spaces, without corporate words
# (crm_name_words(); crm.text.name_tokens mirrors it), kept in match_words by the row's trigger with the
# city's key and the phone's digits (organizations 0023), so a page reads them instead of folding names. Pairs: the same words ("Sysco Boston", "SYSCO – Boston"): score 1;
# or words alike by Jaccard (shared / all) at least %(threshold)s with the city or the phone (its last ten
# digits) agreeing. Only organizations of one type pair, never principals: what can merge. No extension
# (pg_trgm is not in the embedded server): a word shared within the same city or phone is the join key,
# so a common word meets only its own city's organizations.
_DUPLICATES_SQL = """
WITH named AS (
    SELECT o.id, o.type, o.match_city AS city_key, o.match_phone AS phone_key, o.match_words AS words
      FROM organization o
     WHERE o.tenant_id = %(tenant)s AND o.deleted_at IS NULL AND o.type <> 'principal'
),
words AS (
    SELECT n.id, n.type, n.city_key, n.phone_key, cardinality(n.words) AS size, word
      FROM named n, unnest(n.words) AS word
),
alike AS (
    -- Equi-joins only (a word and the city, or a word and the phone): a common word meets its own
    -- city's or phone's organizations, never the whole firm's. The phone's pairs leave out those of
    -- one city: the city's have the same score and win on the reason.
    SELECT a.id AS left_id, b.id AS right_id, count(*) AS shared, min(a.size) AS left_size,
           min(b.size) AS right_size, 'similar_name_same_city' AS reason
      FROM words a
      JOIN words b ON b.word = a.word AND b.type = a.type AND b.city_key = a.city_key AND b.id > a.id
     WHERE a.city_key <> ''
     GROUP BY a.id, b.id
    UNION ALL
    SELECT a.id, b.id, count(*), min(a.size), min(b.size), 'similar_name_same_phone'
      FROM words a
      JOIN words b ON b.word = a.word AND b.type = a.type AND b.phone_key = a.phone_key AND b.id > a.id
       AND (a.city_key = '' OR b.city_key <> a.city_key)
     GROUP BY a.id, b.id
),
best AS (
    -- Each pair once, under its best reason (score, then reason), without sorting every pair: the
    -- same words are `same_name`, so the alike pairs leave out those (Jaccard 1).
    SELECT a.id AS left_id, b.id AS right_id, 'same_name' AS reason, 1.000::numeric(4, 3) AS score
      FROM named a JOIN named b ON b.words = a.words AND b.type = a.type AND b.id > a.id
     WHERE cardinality(a.words) > 0
    UNION ALL
    SELECT left_id, right_id, reason, round(shared::numeric / (left_size + right_size - shared), 3)::numeric(4, 3)
      FROM alike
     WHERE shared::numeric / (left_size + right_size - shared) >= %(threshold)s
       AND shared < left_size + right_size - shared
),
page AS (
    SELECT left_id, right_id, reason, score
      FROM best
     WHERE %(before_score)s::numeric IS NULL
        OR (score, -left_id, -right_id) < (%(before_score)s::numeric, -%(before_left)s::bigint, -%(before_right)s::bigint)
     ORDER BY score DESC, left_id, right_id
     LIMIT %(limit)s
)
SELECT page.score::text, page.reason,
       l.id, l.name, l.type, l.city, l.phone, r.id, r.name, r.type, r.city, r.phone
  FROM page
  JOIN organization l ON l.id = page.left_id
  JOIN organization r ON r.id = page.right_id
 ORDER BY page.score DESC, page.left_id, page.right_id
"""

DUPLICATE_THRESHOLD = 0.5


@dataclass(frozen=True)
class DuplicatePair:
    score: str
    reason: str
    left: dict[str, Any]
    right: dict[str, Any]

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.score, self.left["id"], self.right["id"])


def organization_duplicates(
    *, tenant_id: int, before: tuple[str, int, int] | None = None, limit: int = 50
) -> list[DuplicatePair]:
    """Up to `limit` candidate pairs after `before` (a previous page's last position), best first."""
    score, left, right = before if before is not None else (None, None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            _DUPLICATES_SQL,
            {
                "tenant": tenant_id,
                "threshold": DUPLICATE_THRESHOLD,
                "before_score": score,
                "before_left": left,
                "before_right": right,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    fields = ("id", "name", "type", "city", "phone")
    return [
        DuplicatePair(
            row[0], row[1], dict(zip(fields, row[2:7], strict=True)), dict(zip(fields, row[7:], strict=True))
        )
        for row in rows
    ]
