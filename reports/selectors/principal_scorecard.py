"""Principal scorecard: one principal on one page."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import sql

from products.models import ProductStatus
from reports.selectors.common import (
    ACCOUNT_TYPES,
    CLOSED,
    INTERACTION_TYPES,
    OPEN_STAGES,
    UTC,
    WON,
    ZERO,
    ActivityTypeTotal,
    Period,
    change_percent,
    fetch,
    given,
)
from reports.selectors.principals import PrincipalRef

TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class StatusCount:
    status: str
    products: int


@dataclass(frozen=True)
class StageFigures:
    stage: str
    opportunities: int
    weekly_case_volume: Decimal
    weighted_weekly_volume: Decimal


@dataclass(frozen=True)
class ActivityComparison:
    period: Period
    previous_period: Period
    interactions: int
    previous_interactions: int
    change: int
    change_percent: Decimal | None
    by_type: list[ActivityTypeTotal]


@dataclass(frozen=True)
class TopCustomer:
    customer: int
    customer_name: str
    won_opportunities: int
    won_weekly_case_volume: Decimal
    open_opportunities: int
    open_weighted_weekly_volume: Decimal
    interactions: int


@dataclass(frozen=True)
class ScorecardReport:
    as_of: dt.date
    principal: int
    principal_name: str
    products: list[StatusCount]
    products_total: int
    pipeline: list[StageFigures]
    open_opportunities: int
    weekly_case_volume: Decimal
    weighted_weekly_volume: Decimal
    activity: ActivityComparison
    top_customers: list[TopCustomer]


_SCORECARD_PRODUCTS_SQL = """
SELECT status, count(*) AS products
  FROM product
 WHERE tenant_id = %(tenant)s AND principal_id = %(principal)s AND deleted_at IS NULL
 GROUP BY status
"""

_SCORECARD_PIPELINE_SQL = """
SELECT o.stage, count(*) AS opportunities,
       sum(o.weekly_case_volume) AS weekly_case_volume, sum(o.weighted_weekly_volume) AS weighted_weekly_volume
  FROM opportunity o
 WHERE o.tenant_id = %(tenant)s
   AND o.principal_id = %(principal)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN {closed}{opportunity_filters}
 GROUP BY o.stage
"""

_SCORECARD_ACTIVITY_SQL = """
SELECT i.type, i.occurred_at >= %(start)s AS in_period, count(*) AS interactions
  FROM interaction i
 WHERE i.tenant_id = %(tenant)s
   AND i.principal_id = %(principal)s
   AND i.deleted_at IS NULL
   AND i.occurred_at >= %(previous_start)s AND i.occurred_at < %(end)s{interaction_filters}
 GROUP BY 1, 2
"""

# Customers ranked by the weekly volume won with them, then the weighted volume still open, then touches.
_SCORECARD_CUSTOMERS_SQL = """
WITH deals AS (
    SELECT o.customer_id,
           count(*) FILTER (WHERE o.stage = {won}) AS won_opportunities,
           coalesce(sum(o.weekly_case_volume) FILTER (WHERE o.stage = {won}), 0) AS won_weekly_case_volume,
           count(*) FILTER (WHERE o.stage NOT IN {closed}) AS open_opportunities,
           coalesce(sum(o.weighted_weekly_volume) FILTER (WHERE o.stage NOT IN {closed}), 0)
               AS open_weighted_weekly_volume
      FROM opportunity o
     WHERE o.tenant_id = %(tenant)s
       AND o.principal_id = %(principal)s
       AND o.deleted_at IS NULL{opportunity_filters}
     GROUP BY o.customer_id
), touches AS (
    SELECT i.organization_id, count(*) AS interactions
      FROM interaction i
     WHERE i.tenant_id = %(tenant)s
       AND i.principal_id = %(principal)s
       AND i.deleted_at IS NULL
       AND i.occurred_at >= %(start)s AND i.occurred_at < %(end)s{interaction_filters}
     GROUP BY i.organization_id
)
, lines AS MATERIALIZED (
    -- Materialized: joined on coalesce() of a full join, the planner would hash the whole customer table
    -- instead of looking up these few dozen customers by id.
    SELECT coalesce(d.customer_id, t.organization_id) AS customer_id,
           coalesce(d.won_opportunities, 0) AS won_opportunities,
           coalesce(d.won_weekly_case_volume, 0) AS won_weekly_case_volume,
           coalesce(d.open_opportunities, 0) AS open_opportunities,
           coalesce(d.open_weighted_weekly_volume, 0) AS open_weighted_weekly_volume,
           coalesce(t.interactions, 0) AS interactions
      FROM deals d
      FULL JOIN touches t ON t.organization_id = d.customer_id
)
SELECT c.id AS customer, c.name AS customer_name, l.won_opportunities, l.won_weekly_case_volume,
       l.open_opportunities, l.open_weighted_weekly_volume, l.interactions
  FROM lines l
  JOIN organization c ON c.id = l.customer_id
 WHERE c.deleted_at IS NULL AND c.type IN {account_types}
 ORDER BY 4 DESC, 6 DESC, 7 DESC, c.name, c.id
 LIMIT %(limit)s
"""


def scorecard_period(
    *, today: dt.date, date_from: dt.date | None, date_to: dt.date | None, zone: zoneinfo.ZoneInfo = UTC
) -> Period:
    """`date_from`–`date_to`; by default the four weeks (28 days) up to today."""
    end = date_to or today
    return Period(date_from or end - dt.timedelta(weeks=4) + dt.timedelta(days=1), end, zone)


def scorecard_report(
    *,
    tenant_id: int,
    principal: PrincipalRef,
    today: dt.date,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> ScorecardReport:
    """One principal: products by status, open pipeline by stage with its weighted volume, activity in
    the period (the last four weeks by default) against the period before, and the top customers."""
    period = scorecard_period(today=today, date_from=date_from, date_to=date_to, zone=zone)
    previous = period.previous
    params = {
        "tenant": tenant_id,
        "principal": principal.id,
        "owner": owner_id,
        "start": period.start,
        "end": period.end,
        "previous_start": previous.start,
        "limit": TOP_CUSTOMERS,
    }
    parts = {
        "closed": CLOSED,
        "won": WON,
        "account_types": ACCOUNT_TYPES,
        "opportunity_filters": given(params, owner="o.owner_id = %(owner)s::bigint"),
        "interaction_filters": given(params, owner="i.user_id = %(owner)s::bigint"),
    }

    def rows(template: str) -> list[dict[str, Any]]:
        return fetch(sql.SQL(template).format(**parts), params)

    by_status = {r["status"]: r["products"] for r in rows(_SCORECARD_PRODUCTS_SQL)}
    by_stage = {r["stage"]: r for r in rows(_SCORECARD_PIPELINE_SQL)}
    pipeline = [
        StageFigures(
            stage=stage,
            opportunities=by_stage[stage]["opportunities"] if stage in by_stage else 0,
            weekly_case_volume=by_stage[stage]["weekly_case_volume"] if stage in by_stage else ZERO,
            weighted_weekly_volume=by_stage[stage]["weighted_weekly_volume"] if stage in by_stage else ZERO,
        )
        for stage in OPEN_STAGES
    ]
    current: dict[str, int] = defaultdict(int)
    before: dict[str, int] = defaultdict(int)
    for r in rows(_SCORECARD_ACTIVITY_SQL):
        (current if r["in_period"] else before)[r["type"]] += r["interactions"]
    total, previous_total = sum(current.values()), sum(before.values())
    return ScorecardReport(
        as_of=today,
        principal=principal.id,
        principal_name=principal.name,
        products=[StatusCount(status, by_status.get(status, 0)) for status in ProductStatus.values],
        products_total=sum(by_status.values()),
        pipeline=pipeline,
        open_opportunities=sum(s.opportunities for s in pipeline),
        weekly_case_volume=sum((s.weekly_case_volume for s in pipeline), ZERO),
        weighted_weekly_volume=sum((s.weighted_weekly_volume for s in pipeline), ZERO),
        activity=ActivityComparison(
            period=period,
            previous_period=previous,
            interactions=total,
            previous_interactions=previous_total,
            change=total - previous_total,
            change_percent=change_percent(total, previous_total),
            by_type=[
                ActivityTypeTotal(kind, current[kind], before[kind], current[kind] - before[kind])
                for kind in INTERACTION_TYPES
                if current[kind] or before[kind]
            ],
        ),
        top_customers=[TopCustomer(**r) for r in rows(_SCORECARD_CUSTOMERS_SQL)],
    )
