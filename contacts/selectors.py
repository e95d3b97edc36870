"""Reads on contacts that are more than a queryset."""

from __future__ import annotations

from typing import Any

from django.db import connection

from organizations.selectors import DuplicatePair

# Candidate duplicates among the live contacts the reader sees (ADR 0029), one statement a page: the same
# name (crm_name_key of first and last) at the same organization, score 1; the same email (crm_name_key)
# anywhere, score 1 (at two organizations they merge with their organizations); the same phone or mobile
# (last ten digits, seven at least) at the same organization, 0.8. The keys are kept in the match_* columns
# by the row's trigger (contacts 0024), so a page reads them instead of folding every name.
_DUPLICATES_SQL = """
WITH people AS NOT MATERIALIZED (
    SELECT c.id, c.organization_id, c.match_name AS name_key, c.match_email AS email_key,
           c.match_phone AS phone_key
      FROM contact c
     WHERE c.tenant_id = %(tenant)s AND c.deleted_at IS NULL
),
best AS (
    -- Each pair once, under its best reason (score, then reason: same_email, same_name, same_phone),
    -- without sorting every pair: each rule leaves out the pairs a better one holds.
    SELECT a.id AS left_id, b.id AS right_id, 'same_email' AS reason, 1.000::numeric(4, 3) AS score
      FROM people a JOIN people b ON b.email_key = a.email_key AND b.id > a.id
    UNION ALL
    SELECT a.id, b.id, 'same_name', 1.000
      FROM people a JOIN people b ON b.organization_id = a.organization_id AND b.name_key = a.name_key AND b.id > a.id
     WHERE b.email_key IS DISTINCT FROM a.email_key OR a.email_key IS NULL
    UNION ALL
    SELECT a.id, b.id, 'same_phone', 0.800
      FROM people a JOIN people b ON b.organization_id = a.organization_id AND b.phone_key = a.phone_key AND b.id > a.id
     WHERE length(a.phone_key) >= 7 AND b.name_key IS DISTINCT FROM a.name_key
       AND (b.email_key IS DISTINCT FROM a.email_key OR a.email_key IS NULL)
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
       l.id, l.first_name, l.last_name, l.email, l.phone, l.organization_id,
       r.id, r.first_name, r.last_name, r.email, r.phone, r.organization_id
  FROM page
  JOIN contact l ON l.id = page.left_id
  JOIN contact r ON r.id = page.right_id
 ORDER BY page.score DESC, page.left_id, page.right_id
"""


def contact_duplicates(
    *, tenant_id: int, before: tuple[str, int, int] | None = None, limit: int = 50
) -> list[DuplicatePair]:
    """Up to `limit` candidate pairs after `before` (a previous page's last position), best first."""
    score, left, right = before if before is not None else (None, None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            _DUPLICATES_SQL,
            {
                "tenant": tenant_id,
                "before_score": score,
                "before_left": left,
                "before_right": right,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    fields = ("id", "first_name", "last_name", "email", "phone", "organization")
    return [
        DuplicatePair(row[0], row[1], _person(fields, row[2:8]), _person(fields, row[8:])) for row in rows
    ]


def _person(fields: tuple[str, ...], values: Any) -> dict[str, Any]:
    return dict(zip(fields, values, strict=True))
