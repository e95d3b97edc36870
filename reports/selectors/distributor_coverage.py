"""Distributor coverage: a principal's authorized distributors, their customers and open opportunities."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from psycopg import sql

from reports.selectors.common import CLOSED, UTC, Period, fetch, given
from reports.selectors.principals import PrincipalRef


@dataclass(frozen=True)
class DistributorCoverage:
    distributor: int
    distributor_name: str
    authorized_on: dt.date | None
    expires_on: dt.date | None
    customers_served: int
    primary_customers: int
    open_opportunities: int
    open_weekly_case_volume: Decimal
    open_weighted_weekly_volume: Decimal


@dataclass(frozen=True)
class CoverageReport:
    as_of: dt.date
    principal: int
    principal_name: str
    period: Period
    distributors: list[DistributorCoverage]
    customers_reached: int
    open_opportunities: int
    open_opportunities_without_authorized_distributor: int


_COVERAGE_SQL = """
WITH authorized AS (
    SELECT da.distributor_id, da.authorized_on, da.expires_on
      FROM distributor_authorization da
      JOIN organization d ON d.id = da.distributor_id AND d.deleted_at IS NULL
     WHERE da.tenant_id = %(tenant)s
       AND da.principal_id = %(principal)s
       AND da.deleted_at IS NULL
       AND (da.authorized_on IS NULL OR da.authorized_on <= %(date_to)s::date)
       AND (da.expires_on IS NULL OR da.expires_on >= %(date_from)s::date)
), served AS (
    -- A big distributor serves thousands of customers: read them from the covering index alone, and drop
    -- the soft-deleted customers by an anti-join with the few deleted organizations instead of looking
    -- every customer up. Customers are shared rows, which every member of the firm sees, so "not
    -- soft-deleted" is all a join with the customer would check.
    SELECT cd.distributor_id, cd.customer_id, cd.is_primary
      FROM customer_distributor cd
      JOIN authorized a ON a.distributor_id = cd.distributor_id
     WHERE cd.tenant_id = %(tenant)s AND cd.deleted_at IS NULL
       AND cd.customer_id NOT IN (
           SELECT c.id FROM organization c WHERE c.tenant_id = %(tenant)s AND c.deleted_at IS NOT NULL
       )
), served_counts AS (
    SELECT distributor_id, count(*) AS customers_served, count(*) FILTER (WHERE is_primary) AS primary_customers
      FROM served
     GROUP BY distributor_id
), open_deals AS (
    SELECT o.distributor_id, count(*) AS open_opportunities,
           sum(o.weekly_case_volume) AS open_weekly_case_volume,
           sum(o.weighted_weekly_volume) AS open_weighted_weekly_volume
      FROM opportunity o
     WHERE o.tenant_id = %(tenant)s
       AND o.principal_id = %(principal)s
       AND o.deleted_at IS NULL
       AND o.stage NOT IN {closed}{filters}
     GROUP BY o.distributor_id
), totals AS (
    SELECT (SELECT count(DISTINCT customer_id) FROM served) AS customers_reached,
           (SELECT coalesce(sum(open_opportunities), 0) FROM open_deals) AS all_open_opportunities,
           (SELECT coalesce(sum(od.open_opportunities), 0)
              FROM open_deals od LEFT JOIN authorized a ON a.distributor_id = od.distributor_id
             WHERE a.distributor_id IS NULL) AS unauthorized_open_opportunities
), lines AS (
    SELECT a.distributor_id AS distributor, d.name AS distributor_name, a.authorized_on, a.expires_on,
           coalesce(sc.customers_served, 0) AS customers_served,
           coalesce(sc.primary_customers, 0) AS primary_customers,
           coalesce(od.open_opportunities, 0) AS open_opportunities,
           coalesce(od.open_weekly_case_volume, 0) AS open_weekly_case_volume,
           coalesce(od.open_weighted_weekly_volume, 0) AS open_weighted_weekly_volume
      FROM authorized a
      JOIN organization d ON d.id = a.distributor_id
      LEFT JOIN served_counts sc ON sc.distributor_id = a.distributor_id
      LEFT JOIN open_deals od ON od.distributor_id = a.distributor_id
)
-- One row even without any authorized distributor: the totals, with the line columns NULL.
SELECT t.*, l.* FROM totals t LEFT JOIN lines l ON true
 ORDER BY l.distributor_name, l.distributor
"""


def coverage_period(
    *, today: dt.date, date_from: dt.date | None, date_to: dt.date | None, zone: zoneinfo.ZoneInfo = UTC
) -> Period:
    """Authorizations in force at some time from `date_from` to `date_to`; by default, today."""
    end = date_to or today
    return Period(date_from or end, end, zone)


def coverage_report(
    *,
    tenant_id: int,
    principal: PrincipalRef,
    today: dt.date,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> CoverageReport:
    """The distributors authorized to carry `principal` during the period (today by default) and, per
    distributor, the customers it delivers to and the principal's open opportunities through it."""
    period = coverage_period(today=today, date_from=date_from, date_to=date_to, zone=zone)
    params = {
        "tenant": tenant_id,
        "principal": principal.id,
        "owner": owner_id,
        "date_from": period.date_from,
        "date_to": period.date_to,
    }
    query = sql.SQL(_COVERAGE_SQL).format(
        closed=CLOSED, filters=given(params, owner="o.owner_id = %(owner)s::bigint")
    )
    rows = fetch(query, params)
    totals = rows[0]
    return CoverageReport(
        as_of=today,
        principal=principal.id,
        principal_name=principal.name,
        period=period,
        distributors=[
            DistributorCoverage(**{name: row[name] for name in DistributorCoverage.__dataclass_fields__})
            for row in rows
            if row["distributor"] is not None
        ],
        customers_reached=totals["customers_reached"],
        open_opportunities=totals["all_open_opportunities"],
        open_opportunities_without_authorized_distributor=totals["unauthorized_open_opportunities"],
    )
