"""Weekly activity: interactions per principal per ISO week (and per type), against the previous period."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from psycopg import sql

from reports.selectors.common import (
    INTERACTION_TYPES,
    PRINCIPAL,
    UTC,
    ActivityTypeTotal,
    Period,
    change_percent,
    fetch,
    given,
    ids,
    iso_week,
    week_start,
)


@dataclass(frozen=True)
class Week:
    week: str
    week_start: dt.date


@dataclass(frozen=True)
class ActivityWeek:
    week: str
    week_start: dt.date
    interactions: int
    by_type: dict[str, int]


@dataclass(frozen=True)
class PrincipalActivity:
    """One principal's weeks; `principal` is None on the overall total."""

    principal: int | None
    principal_name: str | None
    weeks: list[ActivityWeek]
    by_type: list[ActivityTypeTotal]
    interactions: int
    previous_interactions: int
    change: int
    change_percent: Decimal | None


@dataclass(frozen=True)
class WeeklyActivityReport:
    as_of: dt.date
    period: Period
    previous_period: Period
    weeks: list[Week]
    principals: list[PrincipalActivity]
    total: PrincipalActivity


_WEEKLY_ACTIVITY_SQL = """
WITH counts AS (
    SELECT i.principal_id, i.type, date_trunc('week', i.occurred_at AT TIME ZONE %(zone)s)::date AS week_start,
           i.occurred_at >= %(start)s AS in_period, count(*) AS interactions
      FROM interaction i
     WHERE i.tenant_id = %(tenant)s
       AND i.deleted_at IS NULL
       AND i.occurred_at >= %(previous_start)s AND i.occurred_at < %(end)s
       AND i.principal_id IS NOT NULL{interaction_filters}
     GROUP BY 1, 2, 3, 4
)
SELECT p.id AS principal, p.name AS principal_name, c.type, c.week_start, c.in_period, c.interactions
  FROM organization p
  LEFT JOIN counts c ON c.principal_id = p.id
 WHERE p.tenant_id = %(tenant)s
   AND p.type = {principal_type}
   AND p.deleted_at IS NULL{principal_filters}
 ORDER BY p.name, p.id
"""


def weekly_activity_period(
    *,
    today: dt.date,
    weeks: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> Period:
    """`date_from`–`date_to` when given; else the `weeks` ISO weeks up to `date_to` (default today), the
    last one counted to `date_to` only, so the previous period is exactly as long."""
    end = date_to or today
    return Period(date_from or week_start(end) - dt.timedelta(weeks=weeks - 1), end, zone)


def weekly_activity_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    weeks: int = 8,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    zone: zoneinfo.ZoneInfo = UTC,
) -> WeeklyActivityReport:
    """Interactions logged for each principal (of the book) per ISO week of the period, by type, with the
    change against the period of the same length just before. `owner` is the user who logged them."""
    period = weekly_activity_period(today=today, weeks=weeks, date_from=date_from, date_to=date_to, zone=zone)
    previous = period.previous
    starts = []
    monday = week_start(period.date_from)
    while monday <= period.date_to:
        starts.append(monday)
        monday += dt.timedelta(weeks=1)
    params = {
        "tenant": tenant_id,
        "book": ids(book),
        "start": period.start,
        "end": period.end,
        "previous_start": previous.start,
        "zone": zone.key,
        "principal": principal_id,
        "owner": owner_id,
    }
    query = sql.SQL(_WEEKLY_ACTIVITY_SQL).format(
        interaction_filters=given(
            params,
            book="i.principal_id = ANY (%(book)s::bigint[])",
            principal="i.principal_id = %(principal)s::bigint",
            owner="i.user_id = %(owner)s::bigint",
        ),
        principal_type=PRINCIPAL,
        principal_filters=given(
            params, book="p.id = ANY (%(book)s::bigint[])", principal="p.id = %(principal)s::bigint"
        ),
    )
    lines = fetch(query, params)

    names: dict[int, str] = {}
    # principal id (None for all) → week start → type → count; and → type → previous-period count
    current: dict[int | None, dict[dt.date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    before: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        principal = line["principal"]
        names[principal] = line["principal_name"]
        if line["type"] is None:  # a principal without activity in either period
            continue
        for key in (principal, None):
            if line["in_period"]:
                by_type = current[key][line["week_start"]]
                by_type[line["type"]] = by_type.get(line["type"], 0) + line["interactions"]
            else:
                before[key][line["type"]] += line["interactions"]

    def activity(key: int | None) -> PrincipalActivity:
        weeks_of = [
            ActivityWeek(
                week=iso_week(start),
                week_start=start,
                interactions=sum(current[key][start].values()),
                by_type=_in_type_order(current[key][start]),
            )
            for start in starts
        ]
        period_by_type: dict[str, int] = defaultdict(int)
        for week in weeks_of:
            for kind, count in week.by_type.items():
                period_by_type[kind] += count
        by_type = [
            ActivityTypeTotal(
                type=kind,
                interactions=period_by_type.get(kind, 0),
                previous_interactions=before[key].get(kind, 0),
                change=period_by_type.get(kind, 0) - before[key].get(kind, 0),
            )
            for kind in INTERACTION_TYPES
            if period_by_type.get(kind) or before[key].get(kind)
        ]
        total = sum(w.interactions for w in weeks_of)
        previous_total = sum(before[key].values())
        return PrincipalActivity(
            principal=key,
            principal_name=names.get(key) if key is not None else None,
            weeks=weeks_of,
            by_type=by_type,
            interactions=total,
            previous_interactions=previous_total,
            change=total - previous_total,
            change_percent=change_percent(total, previous_total),
        )

    overall = activity(None)
    return WeeklyActivityReport(
        as_of=today,
        period=period,
        previous_period=previous,
        weeks=[Week(iso_week(start), start) for start in starts],
        principals=[activity(principal) for principal in names],
        total=overall,
    )


def _in_type_order(counts: dict[str, int]) -> dict[str, int]:
    return {kind: counts[kind] for kind in INTERACTION_TYPES if counts.get(kind)}
