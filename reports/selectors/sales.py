"""Sell-through from distributors' sales (the sales app, ADR 0034): velocity per principal, distributor
and product against the previous period; points of distribution (a product bought by a customer) gained
and lost; open opportunities for products the account already buys or bought and stopped.

Facts are read under the caller's row level security (a manager's book, a viewer's); `book` narrows the
scan to it explicitly so the principal index is used. A fact of a week or month counts in a period when
its whole week or month lies within it (Counted)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from psycopg import sql

from reports.selectors.common import CLOSED, Period, change_percent, fetch, given, ids, limited, week_start

WEEK = dt.timedelta(days=7)
# Lines (principal × distributor × product, or principal × product) a report lists by default; the API
# takes up to ROWS_LIMIT_MAX. A firm's whole sell-through at scale 20 is ~140,000 lines (27 MB of JSON).
ROWS_LIMIT = 1000
ROWS_LIMIT_MAX = 5000


def sales_period(*, today: dt.date, weeks: int, date_from: dt.date | None, date_to: dt.date | None) -> Period:
    """`date_from`–`date_to` when given (`date_to` defaults to today); else the `weeks` ISO weeks up to
    `date_to`, by default the last `weeks` whole weeks: distributors report a week after it ends, so the
    current week would count as a week with no sales (and a Monday's "13 weeks" would be 12 and a day)."""
    if date_from is not None:
        return Period(date_from, date_to or today)
    end = date_to or week_start(today) - dt.timedelta(days=1)
    return Period(week_start(end) - WEEK * (weeks - 1), end)


def _first_start(day: dt.date, kind: str) -> dt.date:
    """The first week (Monday) or month (1st) that starts on or after `day`."""
    if kind == "month":
        return day if day.day == 1 else (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def _end_of(start: dt.date, kind: str) -> dt.date:
    """The last day of the week or month starting `start`."""
    if kind == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return start + dt.timedelta(days=6)


def _last_start(day: dt.date, kind: str) -> dt.date:
    """The last week or month that ends on or before `day`."""
    if kind == "month":
        start = day.replace(day=1)
        return start if _end_of(start, kind) == day else (start - dt.timedelta(days=1)).replace(day=1)
    return week_start(day - dt.timedelta(days=6))


@dataclass(frozen=True)
class Counted:
    """The facts a period counts: those whose whole week (or month) lies within it, so a week cut by the
    period's first or last day (the current week, not yet reported) counts in neither it nor the period
    before, and a period against the one before compares like with like. `first`–`last` are the period
    starts counted; `days` the days those periods cover (0: none)."""

    first: dt.date
    last: dt.date
    days: int

    @classmethod
    def of(cls, period: Period, kind: str) -> Counted:
        first, last = _first_start(period.date_from, kind), _last_start(period.date_to, kind)
        days = (_end_of(last, kind) - first).days + 1 if last >= first else 0
        return cls(first, last, days)


def counted_params(period: Period, kind: str) -> dict[str, dt.date]:
    """The statement parameters of the facts a period and the one before count (see Counted)."""
    now, before = Counted.of(period, kind), Counted.of(period.previous, kind)
    return {
        "first": now.first,
        "last": now.last,
        "previous_first": before.first,
        "previous_last": before.last,
    }


# The facts of both periods, without those of a week or month cut by the boundary between them.
COUNTED = sql.SQL("""
       AND sf.period_start >= %(previous_first)s AND sf.period_start <= %(last)s
       AND (sf.period_start <= %(previous_last)s OR sf.period_start >= %(first)s)""")


def per_week(cases: Decimal, counted: Counted) -> Decimal:
    """Cases per week over the days the counted weeks or months cover (13 whole weeks divide by 13)."""
    if not counted.days:
        return Decimal("0.000")
    return (cases * 7 / counted.days).quantize(Decimal("0.001"))


# --- velocity ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Velocity:
    """One principal × distributor × product; distributor and product are None on a principal's total,
    all three on the overall total."""

    principal: int | None
    principal_name: str | None
    distributor: int | None
    distributor_name: str | None
    product: int | None
    product_name: str | None
    sku: str | None
    cases: Decimal
    cases_per_week: Decimal
    previous_cases: Decimal
    previous_cases_per_week: Decimal
    change: Decimal
    change_percent: Decimal | None
    customers: int  # customers buying in the period
    previous_customers: int


@dataclass(frozen=True)
class VelocityReport:
    as_of: dt.date
    period: Period
    previous_period: Period
    period_kind: str
    rows: list[Velocity]
    rows_total: int  # lines in all, before the limit
    principals: list[Velocity]
    total: Velocity


_VELOCITY_SQL = """
WITH f AS (
    SELECT sf.principal_id, sf.distributor_id, sf.product_id, sf.customer_id,
           sum(sf.cases) FILTER (WHERE sf.period_start >= %(first)s) AS cases,
           sum(sf.cases) FILTER (WHERE sf.period_start <= %(previous_last)s) AS previous_cases
      FROM sales_fact sf
     WHERE sf.tenant_id = %(tenant)s
       AND sf.period_kind = %(period_kind)s{counted}{filters}
     GROUP BY 1, 2, 3, 4
), lines AS (
    -- A customer buys a line when its net cases of the line are above zero.
    SELECT f.principal_id, f.distributor_id, f.product_id,
           coalesce(sum(f.cases), 0) AS cases, coalesce(sum(f.previous_cases), 0) AS previous_cases,
           count(*) FILTER (WHERE f.cases > 0) AS customers,
           count(*) FILTER (WHERE f.previous_cases > 0) AS previous_customers
      FROM f
     GROUP BY 1, 2, 3
), shown AS (
    -- The first lines in name order (as Python sorts them: code points, a missing name as ''), and how many.
    SELECT l.*, pr.name AS principal_name, d.name AS distributor_name, p.name AS product_name, p.sku,
           row_number() OVER (ORDER BY coalesce(pr.name, '') COLLATE "C", l.principal_id,
                                       coalesce(d.name, '') COLLATE "C", l.distributor_id,
                                       coalesce(p.name, '') COLLATE "C", l.product_id) AS position
      FROM lines l
      LEFT JOIN organization pr ON pr.id = l.principal_id
      LEFT JOIN organization d ON d.id = l.distributor_id
      LEFT JOIN product p ON p.id = l.product_id
     ORDER BY position
     LIMIT %(rows_limit)s
), buyers AS (
    -- A customer buys from a principal when its net cases of the principal's lines are above zero.
    SELECT f.principal_id, f.customer_id,
           coalesce(sum(f.cases), 0) > 0 AS now, coalesce(sum(f.previous_cases), 0) > 0 AS before
      FROM f
     GROUP BY 1, 2
), principals AS (
    SELECT l.principal_id, sum(l.cases) AS cases, sum(l.previous_cases) AS previous_cases
      FROM lines l
     GROUP BY 1
), principal_buyers AS (
    SELECT b.principal_id, count(*) FILTER (WHERE b.now) AS customers,
           count(*) FILTER (WHERE b.before) AS previous_customers
      FROM buyers b
     GROUP BY 1
), firm_buyers AS (
    SELECT count(*) FILTER (WHERE c.now) AS customers, count(*) FILTER (WHERE c.before) AS previous_customers
      FROM (SELECT f.customer_id, coalesce(sum(f.cases), 0) > 0 AS now,
                   coalesce(sum(f.previous_cases), 0) > 0 AS before
              FROM f GROUP BY 1) c
)
SELECT 0 AS level, s.principal_id AS principal, s.principal_name, s.distributor_id AS distributor,
       s.distributor_name, s.product_id AS product, s.product_name, s.sku, s.cases, s.previous_cases,
       s.customers, s.previous_customers, NULL::bigint AS rows_total, s.position
  FROM shown s
UNION ALL
SELECT 1, p.principal_id, pr.name, NULL, NULL, NULL, NULL, NULL, p.cases, p.previous_cases,
       b.customers, b.previous_customers, NULL, NULL
  FROM principals p
  JOIN principal_buyers b ON b.principal_id = p.principal_id
  LEFT JOIN organization pr ON pr.id = p.principal_id
UNION ALL
SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, coalesce((SELECT sum(cases) FROM lines), 0),
       coalesce((SELECT sum(previous_cases) FROM lines), 0), fb.customers, fb.previous_customers,
       (SELECT count(*) FROM lines), NULL
  FROM firm_buyers fb
 ORDER BY level, position
"""


def _filters(params: dict[str, object], prefix: str = "sf") -> sql.Composed:
    return given(
        params,
        book=f"{prefix}.principal_id = ANY(%(book)s::bigint[])",
        principal_id=f"{prefix}.principal_id = %(principal_id)s::bigint",
        distributor_id=f"{prefix}.distributor_id = %(distributor_id)s::bigint",
        product_id=f"{prefix}.product_id = %(product_id)s::bigint",
    )


def velocity_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    weeks: int = 13,
    period_kind: str = "week",
    rows_limit: int = ROWS_LIMIT,
    principal_id: int | None = None,
    distributor_id: int | None = None,
    product_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: object = None,  # facts are dated by calendar period: only "today" (given) is the firm's
) -> VelocityReport:
    """Cases sold per principal × distributor × product in the period, per week, and the change against the
    period of the same length before; customers buying in each (net cases above zero: of the line for a
    line, of the principal's lines for a principal, of everything for the total). The first `rows_limit`
    lines in name order (0: none, the totals only); the totals always cover every line. `owner_id` does
    not apply to sales. One statement."""
    del owner_id
    period = sales_period(today=today, weeks=weeks, date_from=date_from, date_to=date_to)
    previous = period.previous
    params: dict[str, object] = {
        "tenant": tenant_id,
        "book": ids(book),
        "principal_id": principal_id,
        "distributor_id": distributor_id,
        "product_id": product_id,
        "period_kind": period_kind,
        **counted_params(period, period_kind),
        "rows_limit": rows_limit,
    }
    rows = fetch(sql.SQL(_VELOCITY_SQL).format(counted=COUNTED, filters=_filters(params)), params)
    counted, counted_before = Counted.of(period, period_kind), Counted.of(previous, period_kind)

    def line(row: dict[str, object]) -> Velocity:
        cases, previous_cases = Decimal(str(row["cases"])), Decimal(str(row["previous_cases"]))
        principal, distributor, product = row["principal"], row["distributor"], row["product"]
        return Velocity(
            principal=principal if isinstance(principal, int) else None,
            principal_name=_text(row["principal_name"]),
            distributor=distributor if isinstance(distributor, int) else None,
            distributor_name=_text(row["distributor_name"]),
            product=product if isinstance(product, int) else None,
            product_name=_text(row["product_name"]),
            sku=_text(row["sku"]),
            cases=cases,
            cases_per_week=per_week(cases, counted),
            previous_cases=previous_cases,
            previous_cases_per_week=per_week(previous_cases, counted_before),
            change=cases - previous_cases,
            change_percent=change_percent(cases, previous_cases),
            customers=int(str(row["customers"])),
            previous_customers=int(str(row["previous_customers"])),
        )

    def order(item: Velocity) -> tuple[str, int]:
        return (item.principal_name or "", item.principal or 0)

    total_row = next(row for row in rows if row["level"] == 2)  # the statement always returns it
    return VelocityReport(
        as_of=today,
        period=period,
        previous_period=previous,
        period_kind=period_kind,
        rows=[line(row) for row in rows if row["level"] == 0],  # in name order, from the statement
        rows_total=int(str(total_row["rows_total"])),
        principals=sorted((line(row) for row in rows if row["level"] == 1), key=order),
        total=line(total_row),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- points of distribution --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """Points of distribution (customers buying) of one principal's product; product None on a
    principal's total, both None on the overall total."""

    principal: int | None
    principal_name: str | None
    product: int | None
    product_name: str | None
    sku: str | None
    points: int
    previous_points: int
    gained: int
    lost: int


@dataclass(frozen=True)
class LostPoint:
    principal: int
    product: int
    product_name: str
    customer: int
    customer_name: str
    last_period: dt.date
    previous_cases: Decimal


@dataclass(frozen=True)
class DistributionReport:
    as_of: dt.date
    period: Period
    previous_period: Period
    period_kind: str
    rows: list[Distribution]
    rows_total: int  # products in all, before the limit
    principals: list[Distribution]
    total: Distribution
    lost: list[LostPoint]
    lost_total: int


_DISTRIBUTION_SQL = """
WITH bought AS MATERIALIZED (
    -- Each product × customer once: net cases in the period and before, and the last period bought.
    SELECT sf.principal_id, sf.product_id, sf.customer_id, max(sf.period_start) AS last_period,
           coalesce(sum(sf.cases) FILTER (WHERE sf.period_start >= %(first)s), 0) AS cases,
           coalesce(sum(sf.cases) FILTER (WHERE sf.period_start <= %(previous_last)s), 0) AS previous_cases
      FROM sales_fact sf
     WHERE sf.tenant_id = %(tenant)s
       AND sf.period_kind = %(period_kind)s{counted}{filters}
     GROUP BY 1, 2, 3
), lines AS (
    SELECT b.principal_id, b.product_id,
           count(*) FILTER (WHERE b.cases > 0) AS points,
           count(*) FILTER (WHERE b.previous_cases > 0) AS previous_points,
           count(*) FILTER (WHERE b.cases > 0 AND b.previous_cases <= 0) AS gained,
           count(*) FILTER (WHERE b.previous_cases > 0 AND b.cases <= 0) AS lost
      FROM bought b
     GROUP BY 1, 2
), shown AS (
    -- The first lines in name order (as Python sorts them: code points, a missing name as '').
    SELECT l.*, pr.name AS principal_name, p.name AS product_name, p.sku,
           row_number() OVER (ORDER BY coalesce(pr.name, '') COLLATE "C", l.principal_id,
                                       coalesce(p.name, '') COLLATE "C", l.product_id) AS position
      FROM lines l
      LEFT JOIN organization pr ON pr.id = l.principal_id
      LEFT JOIN product p ON p.id = l.product_id
     ORDER BY position
     LIMIT %(rows_limit)s
), lost AS (
    SELECT b.principal_id, b.product_id, p.name AS product_name, b.customer_id, c.name AS customer_name,
           b.last_period, b.previous_cases, count(*) OVER () AS total,
           row_number() OVER (ORDER BY b.previous_cases DESC, b.customer_id, b.product_id) AS position
      FROM bought b
      JOIN product p ON p.id = b.product_id
      JOIN organization c ON c.id = b.customer_id
     WHERE b.previous_cases > 0 AND b.cases <= 0
     ORDER BY position
     LIMIT %(limit)s
)
SELECT 'line' AS kind, 0 AS level, s.principal_id AS principal, s.principal_name, s.product_id AS product,
       s.product_name, s.sku, s.points, s.previous_points, s.gained, s.lost, NULL::bigint AS customer,
       NULL::text AS customer_name, NULL::date AS last_period, NULL::numeric AS previous_cases,
       NULL::bigint AS total, s.position
  FROM shown s
UNION ALL
SELECT 'line', 1, l.principal_id, pr.name, NULL, NULL, NULL, sum(l.points), sum(l.previous_points),
       sum(l.gained), sum(l.lost), NULL, NULL, NULL, NULL, NULL, NULL
  FROM lines l
  LEFT JOIN organization pr ON pr.id = l.principal_id
 GROUP BY l.principal_id, pr.name
UNION ALL
SELECT 'line', 2, NULL, NULL, NULL, NULL, NULL, coalesce(sum(l.points), 0), coalesce(sum(l.previous_points), 0),
       coalesce(sum(l.gained), 0), coalesce(sum(l.lost), 0), NULL, NULL, NULL, NULL, count(*), NULL
  FROM lines l
UNION ALL
SELECT 'lost', 0, x.principal_id, NULL, x.product_id, x.product_name, NULL, NULL, NULL, NULL, NULL,
       x.customer_id, x.customer_name, x.last_period, x.previous_cases, x.total, x.position
  FROM lost x
 ORDER BY kind, level, position
"""


def distribution_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    weeks: int = 13,
    period_kind: str = "week",
    limit: int = 100,
    rows_limit: int = ROWS_LIMIT,
    principal_id: int | None = None,
    distributor_id: int | None = None,
    product_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: object = None,  # facts are dated by calendar period: only "today" (given) is the firm's
) -> DistributionReport:
    """Points of distribution per principal's product (customers buying it in the period: net cases above
    zero), against the period before: how many, gained, lost (the first `rows_limit` products in name
    order; the totals cover all); and the first `limit` points lost, biggest first. One statement."""
    del owner_id
    period = sales_period(today=today, weeks=weeks, date_from=date_from, date_to=date_to)
    previous = period.previous
    params: dict[str, object] = {
        "tenant": tenant_id,
        "book": ids(book),
        "principal_id": principal_id,
        "distributor_id": distributor_id,
        "product_id": product_id,
        "period_kind": period_kind,
        **counted_params(period, period_kind),
        "limit": limit,
        "rows_limit": rows_limit,
    }
    rows = fetch(sql.SQL(_DISTRIBUTION_SQL).format(counted=COUNTED, filters=_filters(params)), params)

    def line(row: dict[str, object]) -> Distribution:
        principal, product = row["principal"], row["product"]
        return Distribution(
            principal=principal if isinstance(principal, int) else None,
            principal_name=_text(row["principal_name"]),
            product=product if isinstance(product, int) else None,
            product_name=_text(row["product_name"]),
            sku=_text(row["sku"]),
            points=int(str(row["points"])),
            previous_points=int(str(row["previous_points"])),
            gained=int(str(row["gained"])),
            lost=int(str(row["lost"])),
        )

    def order(item: Distribution) -> tuple[str, int]:
        return (item.principal_name or "", item.principal or 0)

    lines = [row for row in rows if row["kind"] == "line"]
    total_row = next(row for row in lines if row["level"] == 2)  # the statement always returns it
    lost = [
        LostPoint(
            principal=int(str(row["principal"])),
            product=int(str(row["product"])),
            product_name=str(row["product_name"]),
            customer=int(str(row["customer"])),
            customer_name=str(row["customer_name"]),
            last_period=row["last_period"],  # type: ignore[arg-type]
            previous_cases=Decimal(str(row["previous_cases"])),
        )
        for row in rows
        if row["kind"] == "lost"
    ]
    return DistributionReport(
        as_of=today,
        period=period,
        previous_period=previous,
        period_kind=period_kind,
        rows=[line(row) for row in lines if row["level"] == 0],  # in name order, from the statement
        rows_total=int(str(total_row["total"])),
        principals=sorted((line(row) for row in lines if row["level"] == 1), key=order),
        total=line(total_row),
        lost=lost,
        lost_total=int(str(next((row["total"] for row in rows if row["kind"] == "lost"), 0))),
    )


# --- open opportunities for products the account buys -------------------------------------------------------


@dataclass(frozen=True)
class BuyingOpportunity:
    opportunity: int
    opportunity_name: str
    stage: str
    principal: int
    principal_name: str
    customer: int
    customer_name: str
    product: int
    product_name: str
    status: str  # "buying" (cases in the recent weeks) or "stopped" (bought before, not lately)
    last_period: dt.date
    recent_cases: Decimal
    total_cases: Decimal


@dataclass(frozen=True)
class BuyingOpportunitiesReport:
    as_of: dt.date
    recent_from: dt.date
    opportunities: list[BuyingOpportunity]
    total: int


_BUYING_SQL = """
WITH lines AS (
    SELECT o.id AS opportunity, o.name AS opportunity_name, o.stage, o.principal_id, o.customer_id,
           op.product_id
      FROM opportunity o
      JOIN opportunity_product op ON op.opportunity_id = o.id AND op.deleted_at IS NULL
     WHERE o.tenant_id = %(tenant)s AND o.deleted_at IS NULL AND o.stage NOT IN {closed}{filters}
), bought AS (
    SELECT l.opportunity, l.product_id, max(sf.period_start) AS last_period,
           coalesce(sum(sf.cases) FILTER (WHERE sf.period_start >= %(recent_from)s), 0) AS recent_cases,
           sum(sf.cases) AS total_cases
      FROM lines l
      JOIN sales_fact sf ON sf.tenant_id = %(tenant)s AND sf.customer_id = l.customer_id
                        AND sf.product_id = l.product_id AND sf.cases > 0
     GROUP BY 1, 2
)
SELECT l.opportunity, l.opportunity_name, l.stage, l.principal_id AS principal, pr.name AS principal_name,
       l.customer_id AS customer, c.name AS customer_name, l.product_id AS product, p.name AS product_name,
       CASE WHEN b.recent_cases > 0 THEN 'buying' ELSE 'stopped' END AS status,
       b.last_period, b.recent_cases, b.total_cases, count(*) OVER () AS total
  FROM bought b
  JOIN lines l ON l.opportunity = b.opportunity AND l.product_id = b.product_id
  JOIN organization pr ON pr.id = l.principal_id
  JOIN organization c ON c.id = l.customer_id
  JOIN product p ON p.id = l.product_id
 ORDER BY status, b.last_period DESC, l.opportunity, l.product_id
 LIMIT %(limit)s
"""


def buying_opportunities_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    weeks: int = 13,
    limit: int = 100,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: object = None,  # facts are dated by calendar period: only "today" (given) is the firm's
) -> BuyingOpportunitiesReport:
    """Open opportunities for a product their customer already buys (cases in the last `weeks` weeks) or
    bought and stopped (cases before, none lately): a placement to close or a lapsed account to win back."""
    del date_to
    # The last `weeks` whole weeks (reports come in after a week ends), and the current one.
    recent_from = date_from or week_start(today) - WEEK * weeks
    params: dict[str, object] = {
        "tenant": tenant_id,
        "book": ids(book),
        "principal_id": principal_id,
        "owner": owner_id,
        "recent_from": recent_from,
        "limit": limit,
    }
    filters = given(
        params,
        book="o.principal_id = ANY(%(book)s::bigint[])",
        principal_id="o.principal_id = %(principal_id)s::bigint",
        owner="o.owner_id = %(owner)s::bigint",
    )
    rows = fetch(sql.SQL(_BUYING_SQL).format(closed=CLOSED, filters=filters), params)
    opportunities, total = limited(BuyingOpportunity, rows)
    return BuyingOpportunitiesReport(
        as_of=today, recent_from=recent_from, opportunities=opportunities, total=total
    )
