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
    ratio_percent,
)
from reports.selectors.principals import PrincipalRef
from reports.selectors.sales import COUNTED, counted_params
from samples.models import AWAITING_FEEDBACK_STATUSES

TOP_CUSTOMERS = 10
TOP_DISTRIBUTORS = 5


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
class SampleFigures:
    """The principal's sampling: samples sent and feedback received in the period, those out with a
    customer now (sent or delivered, no feedback yet), and sample-to-win conversion: of the organizations
    a sample was sent to in the period, those with a closed-won opportunity of the principal closed on or
    after the day the first of those samples was sent (until today, whatever the period's end)."""

    sent: int
    feedback_received: int
    awaiting_feedback: int
    organizations_sampled: int
    organizations_won: int
    conversion_percent: Decimal | None


@dataclass(frozen=True)
class DistributorSales:
    """One distributor's cases of the principal's products in the period and the one before."""

    distributor: int
    distributor_name: str
    cases: Decimal
    previous_cases: Decimal
    change: Decimal
    customers: int  # customers buying (net cases above zero) through this distributor in the period


@dataclass(frozen=True)
class SellThrough:
    """The principal's sell-through from distributors' weekly sales facts (ADR 0034): the facts whose
    whole week lies in the period against those of the period before; points of distribution are product ×
    customer with net cases above zero (as the points-of-distribution report counts them)."""

    cases: Decimal
    previous_cases: Decimal
    change: Decimal
    change_percent: Decimal | None
    customers: int
    previous_customers: int
    points: int
    previous_points: int
    points_gained: int
    points_lost: int
    top_distributors: list[DistributorSales]


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
    samples: SampleFigures
    sell_through: SellThrough


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


# One statement for the sample figures: the principal's live samples (of live interactions) once, then each
# figure over them. "Sampled" means sent (sent_at is set on skipping to delivered too): a sample requested
# and cancelled before it left converted nobody.
_SCORECARD_SAMPLES_SQL = """
WITH sampled AS MATERIALIZED (
    SELECT s.status, s.sent_at, s.feedback_received_at, i.organization_id
      FROM sample s
      JOIN interaction i ON i.id = s.interaction_id AND i.tenant_id = s.tenant_id
     WHERE s.tenant_id = %(tenant)s
       AND s.scope_principal_id = %(principal)s
       AND s.deleted_at IS NULL
       AND i.deleted_at IS NULL{interaction_filters}
), first_sent AS (
    SELECT organization_id, min(sent_at) AS sent_at
      FROM sampled
     WHERE sent_at >= %(start)s AND sent_at < %(end)s
     GROUP BY organization_id
)
SELECT (SELECT count(*) FROM sampled WHERE sent_at >= %(start)s AND sent_at < %(end)s) AS sent,
       (SELECT count(*) FROM sampled
         WHERE feedback_received_at >= %(start)s AND feedback_received_at < %(end)s) AS feedback_received,
       (SELECT count(*) FROM sampled WHERE status IN {awaiting}) AS awaiting_feedback,
       (SELECT count(*) FROM first_sent) AS organizations_sampled,
       (SELECT count(*) FROM first_sent f
         WHERE EXISTS (SELECT 1 FROM opportunity o
                        WHERE o.tenant_id = %(tenant)s
                          AND o.principal_id = %(principal)s
                          AND o.customer_id = f.organization_id
                          AND o.deleted_at IS NULL
                          AND o.stage = {won}
                          AND o.closed_on >= (f.sent_at AT TIME ZONE %(zone)s)::date)) AS organizations_won
"""


# One statement for the sell-through: the principal's weekly facts of both periods summed per distributor ×
# product × customer once (the principal index), then the totals, the points of distribution and the top
# distributors over them. Facts are dated by calendar week, not by the firm's clock: a week counts in a
# period when it lies wholly within it (reports.selectors.sales.Counted: the current week, not reported yet,
# and a week cut by the boundary count in neither period).
_SCORECARD_SALES_SQL = """
WITH f AS MATERIALIZED (
    SELECT sf.distributor_id, sf.product_id, sf.customer_id,
           coalesce(sum(sf.cases) FILTER (WHERE sf.period_start >= %(first)s), 0) AS cases,
           coalesce(sum(sf.cases) FILTER (WHERE sf.period_start <= %(previous_last)s), 0) AS previous_cases
      FROM sales_fact sf
     WHERE sf.tenant_id = %(tenant)s
       AND sf.principal_id = %(principal)s
       AND sf.period_kind = 'week'{counted}
     GROUP BY 1, 2, 3
), points AS (
    SELECT sum(cases) > 0 AS now, sum(previous_cases) > 0 AS before FROM f GROUP BY product_id, customer_id
), customers AS (
    SELECT sum(cases) > 0 AS now, sum(previous_cases) > 0 AS before FROM f GROUP BY customer_id
), totals AS (
    SELECT (SELECT coalesce(sum(cases), 0) FROM f) AS cases,
           (SELECT coalesce(sum(previous_cases), 0) FROM f) AS previous_cases,
           (SELECT count(*) FILTER (WHERE now) FROM customers) AS customers,
           (SELECT count(*) FILTER (WHERE before) FROM customers) AS previous_customers,
           p.points, p.previous_points, p.points_gained, p.points_lost
      FROM (SELECT count(*) FILTER (WHERE now) AS points, count(*) FILTER (WHERE before) AS previous_points,
                   count(*) FILTER (WHERE now AND NOT before) AS points_gained,
                   count(*) FILTER (WHERE before AND NOT now) AS points_lost
              FROM points) p
), distributors AS (
    SELECT distributor_id, sum(cases) AS cases, sum(previous_cases) AS previous_cases,
           count(DISTINCT customer_id) FILTER (WHERE cases > 0) AS customers
      FROM f
     GROUP BY distributor_id
)
SELECT t.*, d.distributor_id AS distributor, o.name AS distributor_name, d.cases AS distributor_cases,
       d.previous_cases AS distributor_previous_cases, d.customers AS distributor_customers
  FROM totals t
  LEFT JOIN LATERAL (
      SELECT * FROM distributors WHERE cases > 0 ORDER BY cases DESC, distributor_id LIMIT %(limit)s
  ) d ON true
  LEFT JOIN organization o ON o.id = d.distributor_id
 ORDER BY d.cases DESC, o.name, d.distributor_id
"""


def _sell_through(rows: list[dict[str, Any]]) -> SellThrough:
    first = rows[0]  # the totals are on every row; one row without a distributor when none sold
    cases, previous_cases = first["cases"], first["previous_cases"]
    return SellThrough(
        cases=cases,
        previous_cases=previous_cases,
        change=cases - previous_cases,
        change_percent=change_percent(cases, previous_cases),
        customers=first["customers"],
        previous_customers=first["previous_customers"],
        points=first["points"],
        previous_points=first["previous_points"],
        points_gained=first["points_gained"],
        points_lost=first["points_lost"],
        top_distributors=[
            DistributorSales(
                distributor=r["distributor"],
                distributor_name=r["distributor_name"],
                cases=r["distributor_cases"],
                previous_cases=r["distributor_previous_cases"],
                change=r["distributor_cases"] - r["distributor_previous_cases"],
                customers=r["distributor_customers"],
            )
            for r in rows
            if r["distributor"] is not None
        ],
    )


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
    the period (the last four weeks by default) against the period before, the top customers, its
    samples (SampleFigures), and its sell-through from distributors' weekly sales (SellThrough; `owner_id`
    does not apply to sales)."""
    period = scorecard_period(today=today, date_from=date_from, date_to=date_to, zone=zone)
    previous = period.previous
    params = {
        "tenant": tenant_id,
        "principal": principal.id,
        "owner": owner_id,
        "start": period.start,
        "end": period.end,
        "previous_start": previous.start,
        "zone": zone.key,
        "limit": TOP_CUSTOMERS,
        "date_from": period.date_from,
        "date_to": period.date_to,
        "previous_from": previous.date_from,
    }
    parts = {
        "closed": CLOSED,
        "won": WON,
        "account_types": ACCOUNT_TYPES,
        "awaiting": sql.SQL("({})").format(
            sql.SQL(", ").join(sql.Literal(v) for v in AWAITING_FEEDBACK_STATUSES)
        ),
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
    sampling = rows(_SCORECARD_SAMPLES_SQL)[0]
    sales = fetch(
        sql.SQL(_SCORECARD_SALES_SQL).format(counted=COUNTED),
        {**params, **counted_params(period, "week"), "limit": TOP_DISTRIBUTORS},
    )
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
        samples=SampleFigures(
            **sampling,
            conversion_percent=ratio_percent(
                sampling["organizations_won"], sampling["organizations_sampled"]
            ),
        ),
        sell_through=_sell_through(sales),
    )
