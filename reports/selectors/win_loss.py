"""Win/loss: closed won and lost per principal per quarter, with the reasons."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from psycopg import sql

from opportunities.models import Stage
from reports.selectors.common import (
    CLOSED,
    LOST,
    UTC,
    WON,
    ZERO,
    Period,
    fetch,
    given,
    ids,
    quarter_label,
    quarters_back,
    ratio_percent,
)


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    opportunities: int


@dataclass(frozen=True)
class WinLossLine:
    """One principal's quarter; `quarter` is None on a principal's total, `principal` on the overall one."""

    principal: int | None
    principal_name: str | None
    quarter: str | None
    quarter_start: dt.date | None
    won: int
    lost: int
    win_rate: Decimal | None
    won_weekly_case_volume: Decimal
    lost_weekly_case_volume: Decimal
    win_reasons: list[ReasonCount] = field(default_factory=list)
    loss_reasons: list[ReasonCount] = field(default_factory=list)


@dataclass(frozen=True)
class WinLossReport:
    as_of: dt.date
    period: Period
    rows: list[WinLossLine]
    principals: list[WinLossLine]
    total: WinLossLine


_WIN_LOSS_SQL = """
WITH closed AS (
    SELECT o.principal_id, p.name AS principal_name, date_trunc('quarter', o.closed_on)::date AS quarter_start,
           o.stage, o.weekly_case_volume
      FROM opportunity o
      JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
     WHERE o.tenant_id = %(tenant)s
       AND o.deleted_at IS NULL
       AND o.stage IN {closed}
       AND o.closed_on >= %(date_from)s::date AND o.closed_on <= %(date_to)s::date{filters}
)
SELECT principal_id AS principal, principal_name, quarter_start,
       grouping(principal_id) = 1 AS is_total, grouping(quarter_start) = 1 AS is_principal_total,
       count(*) FILTER (WHERE stage = {won}) AS won,
       count(*) FILTER (WHERE stage = {lost}) AS lost,
       coalesce(sum(weekly_case_volume) FILTER (WHERE stage = {won}), 0) AS won_weekly_case_volume,
       coalesce(sum(weekly_case_volume) FILTER (WHERE stage = {lost}), 0) AS lost_weekly_case_volume
  FROM closed
 GROUP BY GROUPING SETS ((principal_id, principal_name, quarter_start), (principal_id, principal_name), ())
"""

_WIN_LOSS_REASONS_SQL = """
SELECT o.principal_id AS principal, date_trunc('quarter', o.closed_on)::date AS quarter_start, o.stage,
       btrim(CASE WHEN o.stage = {won} THEN o.win_reason ELSE o.loss_reason END) AS reason,
       count(*) AS opportunities
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage IN {closed}
   AND o.closed_on >= %(date_from)s::date AND o.closed_on <= %(date_to)s::date{filters}
 GROUP BY 1, 2, 3, 4
 ORDER BY count(*) DESC, 4
"""


def win_loss_period(
    *, today: dt.date, date_from: dt.date | None, date_to: dt.date | None, zone: zoneinfo.ZoneInfo = UTC
) -> Period:
    """`date_from`–`date_to`; by default the last four quarters, this one to date."""
    end = date_to or today
    return Period(date_from or quarters_back(end, 3), end, zone)


def win_loss_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> WinLossReport:
    """Opportunities closed won and lost in the period (by closed_on) per principal and quarter, with the
    weekly case volume won and lost and how often each reason was given."""
    period = win_loss_period(today=today, date_from=date_from, date_to=date_to, zone=zone)
    params = {
        "tenant": tenant_id,
        "book": ids(book),
        "date_from": period.date_from,
        "date_to": period.date_to,
        "principal": principal_id,
        "owner": owner_id,
    }
    filters = given(
        params,
        book="o.principal_id = ANY (%(book)s::bigint[])",
        principal="o.principal_id = %(principal)s::bigint",
        owner="o.owner_id = %(owner)s::bigint",
    )
    parts = {"closed": CLOSED, "won": WON, "lost": LOST, "filters": filters}
    reasons: dict[tuple[int | None, dt.date | None, str], list[ReasonCount]] = defaultdict(list)
    overall: dict[tuple[str, str], int] = defaultdict(int)
    per_principal: dict[tuple[int, str, str], int] = defaultdict(int)
    for r in fetch(sql.SQL(_WIN_LOSS_REASONS_SQL).format(**parts), params):
        reasons[(r["principal"], r["quarter_start"], r["stage"])].append(
            ReasonCount(r["reason"], r["opportunities"])
        )
        per_principal[(r["principal"], r["stage"], r["reason"])] += r["opportunities"]
        overall[(r["stage"], r["reason"])] += r["opportunities"]
    for (principal, stage, reason), count in per_principal.items():
        reasons[(principal, None, stage)].append(ReasonCount(reason, count))
    for (stage, reason), count in overall.items():
        reasons[(None, None, stage)].append(ReasonCount(reason, count))

    def ranked(key: tuple[int | None, dt.date | None, str]) -> list[ReasonCount]:
        return sorted(reasons.get(key, []), key=lambda r: (-r.opportunities, r.reason))

    rows, principals = [], []
    total = WinLossLine(None, None, None, None, 0, 0, None, ZERO, ZERO)
    for line in fetch(sql.SQL(_WIN_LOSS_SQL).format(**parts), params):
        is_total, is_principal_total = line.pop("is_total"), line.pop("is_principal_total")
        start = line.pop("quarter_start")
        principal = line["principal"]
        item = WinLossLine(
            **line,
            quarter=quarter_label(start) if start else None,
            quarter_start=start,
            win_rate=ratio_percent(line["won"], line["won"] + line["lost"]),
            win_reasons=ranked((principal, start, Stage.CLOSED_WON)),
            loss_reasons=ranked((principal, start, Stage.CLOSED_LOST)),
        )
        if is_total:
            total = item
        elif is_principal_total:
            principals.append(item)
        else:
            rows.append(item)
    principals.sort(key=lambda p: (p.principal_name or "", p.principal or 0))
    rows.sort(key=lambda r: (r.principal_name or "", r.principal or 0, r.quarter_start or dt.date.min))
    return WinLossReport(as_of=today, period=period, rows=rows, principals=principals, total=total)
