"""Pipeline: open opportunities per principal × stage, with totals per principal and overall."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from psycopg import sql

from reports.selectors.common import CLOSED, STAGE_ORDER, UTC, ZERO, fetch, given, ids, midnight


@dataclass(frozen=True)
class PipelineLine:
    """One cell of the pipeline. `stage` is None on a principal's total; `principal` on the overall one."""

    principal: int | None
    principal_name: str | None
    stage: str | None
    open_opportunities: int
    weekly_case_volume: Decimal
    weighted_weekly_volume: Decimal
    average_days_in_stage: Decimal | None


@dataclass(frozen=True)
class PipelineReport:
    as_of: dt.date
    rows: list[PipelineLine]
    principals: list[PipelineLine]
    total: PipelineLine


_PIPELINE_SQL = """
SELECT o.principal_id AS principal, p.name AS principal_name, o.stage,
       grouping(o.principal_id) = 1 AS is_total, grouping(o.stage) = 1 AS is_principal_total,
       count(*) AS open_opportunities,
       coalesce(sum(o.weekly_case_volume), 0) AS weekly_case_volume,
       coalesce(sum(o.weighted_weekly_volume), 0) AS weighted_weekly_volume,
       round(avg(%(today)s::date - (o.stage_changed_at AT TIME ZONE %(zone)s)::date), 1) AS average_days_in_stage
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN {closed}{filters}
 GROUP BY GROUPING SETS ((o.principal_id, p.name, o.stage), (o.principal_id, p.name), ())
"""


def pipeline_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> PipelineReport:
    """Open opportunities (those created from `date_from` to `date_to` when given) per principal and
    stage: how many, their weekly case volume, weighted, and their average days in the current stage."""
    params = {
        "tenant": tenant_id,
        "book": ids(book),
        "today": today,
        "zone": zone.key,
        "principal": principal_id,
        "owner": owner_id,
        "created_from": midnight(date_from, zone) if date_from else None,
        "created_before": midnight(date_to + dt.timedelta(days=1), zone) if date_to else None,
    }
    query = sql.SQL(_PIPELINE_SQL).format(
        closed=CLOSED,
        filters=given(
            params,
            book="o.principal_id = ANY (%(book)s::bigint[])",
            principal="o.principal_id = %(principal)s::bigint",
            owner="o.owner_id = %(owner)s::bigint",
            created_from="o.created_at >= %(created_from)s::timestamptz",
            created_before="o.created_at < %(created_before)s::timestamptz",
        ),
    )
    rows, principals = [], []
    total = PipelineLine(None, None, None, 0, ZERO, ZERO, None)
    for line in fetch(query, params):
        is_total, is_principal_total = line.pop("is_total"), line.pop("is_principal_total")
        item = PipelineLine(**line)
        if is_total:
            total = item
        elif is_principal_total:
            principals.append(item)
        else:
            rows.append(item)
    principals.sort(key=lambda p: (p.principal_name or "", p.principal or 0))
    rows.sort(key=lambda r: (r.principal_name or "", r.principal or 0, STAGE_ORDER[r.stage or ""]))
    return PipelineReport(as_of=today, rows=rows, principals=principals, total=total)
