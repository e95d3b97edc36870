"""Stale accounts and deals: the book's accounts untouched, and open opportunities unmoved, for N days."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import sql

from reports.selectors.common import CLOSED, LIST_LIMIT, UTC, Period, fetch, given, ids, limited


def stale_window(
    *,
    today: dt.date,
    days: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> Period:
    """The window a row must have been touched in to be fresh: `date_from`–`date_to` when given, else the
    `days` days up to `date_to` (default today), both included."""
    end = date_to or today
    return Period(date_from or end - dt.timedelta(days=days - 1), end, zone)


@dataclass(frozen=True)
class StaleAccount:
    customer: int
    customer_name: str
    type: str
    priority: str
    account_manager: int | None
    principals: list[str]
    opportunities: int
    open_opportunities: int
    last_interaction_at: dt.datetime | None
    days_since_interaction: int | None


@dataclass(frozen=True)
class StaleAccountsReport:
    as_of: dt.date
    window: Period
    accounts: list[StaleAccount]
    total: int


# The book's accounts are the customers (and prospects) with a live opportunity of a principal the user
# sees. An account is stale when none of its visible interactions falls in the window, i.e. when its last
# visible interaction before the window's end is older than the window (or there is none). That last touch
# is one descending probe of the interaction_account_touch index per account (LATERAL … LIMIT 1): the cost
# follows the book's accounts, not the firm's interactions, and the index carries the columns the RLS
# policy reads, so hidden interactions of other principals are skipped without visiting the table.
_STALE_ACCOUNTS_SQL = """
WITH accounts AS (
    SELECT o.customer_id,
           count(*) AS opportunities,
           count(*) FILTER (WHERE o.stage NOT IN {closed}) AS open_opportunities,
           array_agg(DISTINCT p.name ORDER BY p.name) AS principals
      FROM opportunity o
      JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
     WHERE o.tenant_id = %(tenant)s
       AND o.deleted_at IS NULL{opportunity_filters}
     GROUP BY o.customer_id
), last_touch AS (
    SELECT a.*, t.last_interaction_at
      FROM accounts a
      LEFT JOIN LATERAL (
          SELECT i.occurred_at AS last_interaction_at
            FROM interaction i
           WHERE i.organization_id = a.customer_id
             AND i.deleted_at IS NULL
             AND i.occurred_at < %(end)s
             AND i.tenant_id = %(tenant)s{interaction_filters}
           ORDER BY i.occurred_at DESC
           LIMIT 1
      ) t ON true
)
SELECT c.id AS customer, c.name AS customer_name, c.type, c.priority, c.account_manager_id AS account_manager,
       s.principals, s.opportunities, s.open_opportunities, s.last_interaction_at,
       %(as_of)s::date - (s.last_interaction_at AT TIME ZONE %(zone)s)::date AS days_since_interaction, count(*) OVER () AS total
  FROM last_touch s
  JOIN organization c ON c.id = s.customer_id AND c.deleted_at IS NULL
 WHERE s.last_interaction_at IS NULL OR s.last_interaction_at < %(start)s
 ORDER BY s.last_interaction_at NULLS FIRST, c.name, c.id
 LIMIT %(limit)s
"""


def stale_accounts_query(params: Mapping[str, Any]) -> sql.Composed:
    """The stale accounts' statement for these parameters (tenant, book, start, end, as_of, principal,
    owner, limit)."""
    return sql.SQL(_STALE_ACCOUNTS_SQL).format(
        closed=CLOSED,
        opportunity_filters=given(
            params,
            book="o.principal_id = ANY (%(book)s::bigint[])",
            principal="o.principal_id = %(principal)s::bigint",
            owner="o.owner_id = %(owner)s::bigint",
        ),
        interaction_filters=given(params, principal="i.principal_id = %(principal)s::bigint"),
    )


def stale_accounts_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    days: int = 30,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = LIST_LIMIT,
    zone: zoneinfo.ZoneInfo = UTC,
) -> StaleAccountsReport:
    """The book's accounts with no interaction in the window (by default the `days` days up to today),
    never-touched first, then longest untouched. `principal` narrows both the accounts (their
    opportunities) and the touches that count; `owner` narrows the accounts to their opportunities' owner."""
    window = stale_window(today=today, days=days, date_from=date_from, date_to=date_to, zone=zone)
    params = {
        "tenant": tenant_id,
        "book": ids(book),
        "start": window.start,
        "end": window.end,
        "as_of": window.date_to,
        "zone": zone.key,
        "principal": principal_id,
        "owner": owner_id,
        "limit": limit,
    }
    accounts, total = limited(StaleAccount, fetch(stale_accounts_query(params), params))
    return StaleAccountsReport(as_of=window.date_to, window=window, accounts=accounts, total=total)


@dataclass(frozen=True)
class StaleOpportunity:
    id: int
    name: str
    stage: str
    status: str
    principal: int
    principal_name: str
    customer: int
    customer_name: str
    owner: int | None
    stage_changed_at: dt.datetime
    days_in_stage: int
    weekly_case_volume: Decimal
    weighted_weekly_volume: Decimal
    next_action_date: dt.date | None


@dataclass(frozen=True)
class StaleOpportunitiesReport:
    as_of: dt.date
    window: Period
    opportunities: list[StaleOpportunity]
    total: int


_STALE_OPPORTUNITIES_SQL = """
SELECT o.id, o.name, o.stage, o.status, o.principal_id AS principal, p.name AS principal_name,
       o.customer_id AS customer, c.name AS customer_name, o.owner_id AS owner, o.stage_changed_at,
       %(as_of)s::date - (o.stage_changed_at AT TIME ZONE %(zone)s)::date AS days_in_stage,
       o.weekly_case_volume, o.weighted_weekly_volume, o.next_action_date, count(*) OVER () AS total
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
  JOIN organization c ON c.id = o.customer_id AND c.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN {closed}
   AND o.stage_changed_at < %(start)s{filters}
 ORDER BY o.stage_changed_at, o.id
 LIMIT %(limit)s
"""


def stale_opportunities_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    days: int = 21,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = LIST_LIMIT,
    zone: zoneinfo.ZoneInfo = UTC,
) -> StaleOpportunitiesReport:
    """Open opportunities whose stage has not changed in the window (by default the `days` days up to
    today), longest in their stage first."""
    window = stale_window(today=today, days=days, date_from=date_from, date_to=date_to, zone=zone)
    params = {
        "tenant": tenant_id,
        "book": ids(book),
        "start": window.start,
        "as_of": window.date_to,
        "zone": zone.key,
        "principal": principal_id,
        "owner": owner_id,
        "limit": limit,
    }
    query = sql.SQL(_STALE_OPPORTUNITIES_SQL).format(
        closed=CLOSED,
        filters=given(
            params,
            book="o.principal_id = ANY (%(book)s::bigint[])",
            principal="o.principal_id = %(principal)s::bigint",
            owner="o.owner_id = %(owner)s::bigint",
        ),
    )
    opportunities, total = limited(StaleOpportunity, fetch(query, params))
    return StaleOpportunitiesReport(
        as_of=window.date_to, window=window, opportunities=opportunities, total=total
    )
