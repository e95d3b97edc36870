"""Sales-manager reports: one selector per report, each computed by PostgreSQL in the caller's transaction.

The queries run as whoever the transaction runs as. In a request that is the runtime role with the user's
RLS variables, so a manager's report covers their book and a viewer's theirs whatever the SQL here says.
The explicit `tenant_id = …` and `book` conditions only help the planner: the policies read the book from
a setting the planner cannot see, OR-ed with the admin case, so on their own they leave it no index but a
scan of the firm's rows. The book passed in as literal ids (`book_of`) lets it read just the book's
principals from the principal-leading indexes; it never widens what RLS shows. Soft-deleted rows are left
out everywhere. Days are UTC days and weeks ISO weeks (Monday first), as PostgreSQL's
date_trunc('week', …) counts them in the connection's UTC time zone.

Optional filters are written `(%(x)s IS NULL OR column = %(x)s)`: the values reach the server as literals
(client-side binding), so the planner folds the branch away and the remaining condition can use an index.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from crm.rls import RequestContext
from interactions.models import InteractionType
from opportunities.models import Stage
from products.models import ProductStatus

OPEN_STAGES: tuple[str, ...] = tuple(
    s for s in Stage.values if s not in (Stage.CLOSED_WON, Stage.CLOSED_LOST)
)
STAGE_ORDER = {stage: index for index, stage in enumerate(Stage.values)}
INTERACTION_TYPES: tuple[str, ...] = tuple(InteractionType.values)
ZERO = Decimal(0)
TOP_CUSTOMERS = 10
# Lists (follow-ups, stale accounts and deals) stop here unless asked for more; their totals count all.
LIST_LIMIT = 100


# ---------------------------------------------------------------------------------------------------
# Periods and SQL plumbing.


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarters_back(day: dt.date, count: int) -> dt.date:
    """The first day of the quarter `count` quarters before `day`'s."""
    start = quarter_start(day)
    months = start.year * 12 + start.month - 1 - 3 * count
    return dt.date(months // 12, months % 12 + 1, 1)


def quarter_label(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def utc_today() -> dt.date:
    """Today as the reports count days: in UTC, like the day boundaries in their SQL."""
    return dt.datetime.now(dt.UTC).date()


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Period:
    """Whole days from `date_from` to `date_to`, both included."""

    date_from: dt.date
    date_to: dt.date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.date_from - dt.timedelta(days=self.days), self.date_from - dt.timedelta(days=1))

    @property
    def start(self) -> dt.datetime:
        return midnight(self.date_from)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound, so range scans use the index)."""
        return midnight(self.date_to + dt.timedelta(days=1))


def book_of(context: RequestContext) -> tuple[int, ...] | None:
    """The principals the caller's reports can cover, for the selectors' `book`: a manager's or a viewer's
    book, or None (the whole firm) for an admin, whose book is every principal."""
    return None if context.is_admin else context.book


def _fetch(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _ids(book: Sequence[int] | None) -> list[int] | None:
    """`book` as a list, which psycopg sends as an array literal (None stays NULL: no condition)."""
    return None if book is None else list(book)


def _limited(kind: Any, rows: list[dict[str, Any]]) -> tuple[list[Any], int]:
    """Rows of a limited list as `kind`, and the total before the limit (`count(*) OVER ()` in each)."""
    total = rows[0]["total"] if rows else 0
    return [kind(**{k: v for k, v in row.items() if k != "total"}) for row in rows], total


def change_percent(current: int | Decimal, previous: int | Decimal) -> Decimal | None:
    """Change against the previous figure in percent (one decimal); None when there was nothing before."""
    if not previous:
        return None
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(Decimal("0.1"))


def _ratio_percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


# ---------------------------------------------------------------------------------------------------
# Pipeline: open opportunities per principal × stage, with totals per principal and overall.


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
       round(avg(%(today)s::date - o.stage_changed_at::date), 1) AS average_days_in_stage
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN ('closed_won', 'closed_lost')
   AND (%(book)s::bigint[] IS NULL OR o.principal_id = ANY (%(book)s::bigint[]))
   AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
   AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
   AND (%(created_from)s::timestamptz IS NULL OR o.created_at >= %(created_from)s::timestamptz)
   AND (%(created_before)s::timestamptz IS NULL OR o.created_at < %(created_before)s::timestamptz)
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
) -> PipelineReport:
    """Open opportunities (those created from `date_from` to `date_to` when given) per principal and
    stage: how many, their weekly case volume, weighted, and their average days in the current stage."""
    lines = _fetch(
        _PIPELINE_SQL,
        {
            "tenant": tenant_id,
            "book": _ids(book),
            "today": today,
            "principal": principal_id,
            "owner": owner_id,
            "created_from": midnight(date_from) if date_from else None,
            "created_before": midnight(date_to + dt.timedelta(days=1)) if date_to else None,
        },
    )
    rows, principals = [], []
    total = PipelineLine(None, None, None, 0, ZERO, ZERO, None)
    for line in lines:
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


# ---------------------------------------------------------------------------------------------------
# Weekly activity: interactions per principal per ISO week (and per type), against the previous period.


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
class ActivityTypeTotal:
    type: str
    interactions: int
    previous_interactions: int
    change: int


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
    SELECT i.principal_id, i.type, date_trunc('week', i.occurred_at)::date AS week_start,
           i.occurred_at >= %(start)s AS in_period, count(*) AS interactions
      FROM interaction i
     WHERE i.tenant_id = %(tenant)s
       AND i.deleted_at IS NULL
       AND i.occurred_at >= %(previous_start)s AND i.occurred_at < %(end)s
       AND i.principal_id IS NOT NULL
       AND (%(book)s::bigint[] IS NULL OR i.principal_id = ANY (%(book)s::bigint[]))
       AND (%(principal)s::bigint IS NULL OR i.principal_id = %(principal)s::bigint)
       AND (%(owner)s::bigint IS NULL OR i.user_id = %(owner)s::bigint)
     GROUP BY 1, 2, 3, 4
)
SELECT p.id AS principal, p.name AS principal_name, c.type, c.week_start, c.in_period, c.interactions
  FROM organization p
  LEFT JOIN counts c ON c.principal_id = p.id
 WHERE p.tenant_id = %(tenant)s
   AND p.type = 'principal'
   AND p.deleted_at IS NULL
   AND (%(book)s::bigint[] IS NULL OR p.id = ANY (%(book)s::bigint[]))
   AND (%(principal)s::bigint IS NULL OR p.id = %(principal)s::bigint)
 ORDER BY p.name, p.id
"""


def weekly_activity_period(
    *, today: dt.date, weeks: int, date_from: dt.date | None, date_to: dt.date | None
) -> Period:
    """`date_from`–`date_to` when given; else the `weeks` ISO weeks up to `date_to` (default today), the
    last one counted to `date_to` only, so the previous period is exactly as long."""
    end = date_to or today
    return Period(date_from or week_start(end) - dt.timedelta(weeks=weeks - 1), end)


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
) -> WeeklyActivityReport:
    """Interactions logged for each principal (of the book) per ISO week of the period, by type, with the
    change against the period of the same length just before. `owner` is the user who logged them."""
    period = weekly_activity_period(today=today, weeks=weeks, date_from=date_from, date_to=date_to)
    previous = period.previous
    starts = []
    monday = week_start(period.date_from)
    while monday <= period.date_to:
        starts.append(monday)
        monday += dt.timedelta(weeks=1)
    lines = _fetch(
        _WEEKLY_ACTIVITY_SQL,
        {
            "tenant": tenant_id,
            "book": _ids(book),
            "start": period.start,
            "end": period.end,
            "previous_start": previous.start,
            "principal": principal_id,
            "owner": owner_id,
        },
    )

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


# ---------------------------------------------------------------------------------------------------
# Follow-ups: my open follow-ups due by the day, and my open opportunities whose next action has passed.


@dataclass(frozen=True)
class FollowUpInteraction:
    id: int
    type: str
    subject: str
    occurred_at: dt.datetime
    follow_up_on: dt.date
    days_overdue: int
    organization: int
    organization_name: str
    contact: int | None
    opportunity: int | None
    principal: int | None
    principal_name: str | None


@dataclass(frozen=True)
class FollowUpOpportunity:
    id: int
    name: str
    stage: str
    status: str
    next_action: str
    next_action_date: dt.date
    days_overdue: int
    customer: int
    customer_name: str
    principal: int
    principal_name: str
    weekly_case_volume: Decimal


@dataclass(frozen=True)
class FollowUpsReport:
    as_of: dt.date
    user: int
    interactions: list[FollowUpInteraction]
    interactions_total: int
    opportunities: list[FollowUpOpportunity]
    opportunities_total: int


_FOLLOW_UP_INTERACTIONS_SQL = """
SELECT i.id, i.type, i.subject, i.occurred_at, i.follow_up_on, %(as_of)s::date - i.follow_up_on AS days_overdue,
       i.organization_id AS organization, org.name AS organization_name, i.contact_id AS contact,
       i.opportunity_id AS opportunity, i.principal_id AS principal, p.name AS principal_name,
       count(*) OVER () AS total
  FROM interaction i
  JOIN organization org ON org.id = i.organization_id AND org.deleted_at IS NULL
  LEFT JOIN organization p ON p.id = i.principal_id
 WHERE i.tenant_id = %(tenant)s
   AND i.user_id = %(user)s
   AND i.follow_up_done = false AND i.follow_up_on IS NOT NULL AND i.deleted_at IS NULL
   AND i.follow_up_on <= %(as_of)s::date
   AND (%(date_from)s::date IS NULL OR i.follow_up_on >= %(date_from)s::date)
   AND (%(principal)s::bigint IS NULL OR i.principal_id = %(principal)s::bigint)
 ORDER BY i.follow_up_on, i.occurred_at, i.id
 LIMIT %(limit)s
"""

_FOLLOW_UP_OPPORTUNITIES_SQL = """
SELECT o.id, o.name, o.stage, o.status, o.next_action, o.next_action_date,
       %(as_of)s::date - o.next_action_date AS days_overdue,
       o.customer_id AS customer, c.name AS customer_name, o.principal_id AS principal, p.name AS principal_name,
       o.weekly_case_volume, count(*) OVER () AS total
  FROM opportunity o
  JOIN organization c ON c.id = o.customer_id AND c.deleted_at IS NULL
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.owner_id = %(user)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN ('closed_won', 'closed_lost')
   AND o.next_action_date < %(as_of)s::date
   AND (%(date_from)s::date IS NULL OR o.next_action_date >= %(date_from)s::date)
   AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
 ORDER BY o.next_action_date, o.id
 LIMIT %(limit)s
"""


def follow_ups_report(
    *,
    tenant_id: int,
    user_id: int,
    today: dt.date,
    principal_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = LIST_LIMIT,
) -> FollowUpsReport:
    """`user_id`'s interactions with a follow-up due on or before `date_to` (default today) and not done,
    and their open opportunities whose next action date is before it; oldest first, at most `limit` of
    each (the totals count them all)."""
    params = {
        "tenant": tenant_id,
        "user": user_id,
        "as_of": date_to or today,
        "date_from": date_from,
        "principal": principal_id,
        "limit": limit,
    }
    interactions, interactions_total = _limited(
        FollowUpInteraction, _fetch(_FOLLOW_UP_INTERACTIONS_SQL, params)
    )
    opportunities, opportunities_total = _limited(
        FollowUpOpportunity, _fetch(_FOLLOW_UP_OPPORTUNITIES_SQL, params)
    )
    return FollowUpsReport(
        as_of=date_to or today,
        user=user_id,
        interactions=interactions,
        interactions_total=interactions_total,
        opportunities=opportunities,
        opportunities_total=opportunities_total,
    )


# ---------------------------------------------------------------------------------------------------
# Stale accounts and deals.


def stale_window(*, today: dt.date, days: int, date_from: dt.date | None, date_to: dt.date | None) -> Period:
    """The window a row must have been touched in to be fresh: `date_from`–`date_to` when given, else the
    `days` days up to `date_to` (default today), both included."""
    end = date_to or today
    return Period(date_from or end - dt.timedelta(days=days - 1), end)


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
           count(*) FILTER (WHERE o.stage NOT IN ('closed_won', 'closed_lost')) AS open_opportunities,
           array_agg(DISTINCT p.name ORDER BY p.name) AS principals
      FROM opportunity o
      JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
     WHERE o.tenant_id = %(tenant)s
       AND o.deleted_at IS NULL
       AND (%(book)s::bigint[] IS NULL OR o.principal_id = ANY (%(book)s::bigint[]))
       AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
       AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
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
             AND i.tenant_id = %(tenant)s
             AND (%(principal)s::bigint IS NULL OR i.principal_id = %(principal)s::bigint)
           ORDER BY i.occurred_at DESC
           LIMIT 1
      ) t ON true
)
SELECT c.id AS customer, c.name AS customer_name, c.type, c.priority, c.account_manager_id AS account_manager,
       s.principals, s.opportunities, s.open_opportunities, s.last_interaction_at,
       %(as_of)s::date - s.last_interaction_at::date AS days_since_interaction, count(*) OVER () AS total
  FROM last_touch s
  JOIN organization c ON c.id = s.customer_id AND c.deleted_at IS NULL
 WHERE s.last_interaction_at IS NULL OR s.last_interaction_at < %(start)s
 ORDER BY s.last_interaction_at NULLS FIRST, c.name, c.id
 LIMIT %(limit)s
"""


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
) -> StaleAccountsReport:
    """The book's accounts with no interaction in the window (by default the `days` days up to today),
    never-touched first, then longest untouched. `principal` narrows both the accounts (their
    opportunities) and the touches that count; `owner` narrows the accounts to their opportunities' owner."""
    window = stale_window(today=today, days=days, date_from=date_from, date_to=date_to)
    rows = _fetch(
        _STALE_ACCOUNTS_SQL,
        {
            "tenant": tenant_id,
            "book": _ids(book),
            "start": window.start,
            "end": window.end,
            "as_of": window.date_to,
            "principal": principal_id,
            "owner": owner_id,
            "limit": limit,
        },
    )
    accounts, total = _limited(StaleAccount, rows)
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
       %(as_of)s::date - o.stage_changed_at::date AS days_in_stage,
       o.weekly_case_volume, o.weighted_weekly_volume, o.next_action_date, count(*) OVER () AS total
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
  JOIN organization c ON c.id = o.customer_id AND c.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN ('closed_won', 'closed_lost')
   AND o.stage_changed_at < %(start)s
   AND (%(book)s::bigint[] IS NULL OR o.principal_id = ANY (%(book)s::bigint[]))
   AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
   AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
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
) -> StaleOpportunitiesReport:
    """Open opportunities whose stage has not changed in the window (by default the `days` days up to
    today), longest in their stage first."""
    window = stale_window(today=today, days=days, date_from=date_from, date_to=date_to)
    rows = _fetch(
        _STALE_OPPORTUNITIES_SQL,
        {
            "tenant": tenant_id,
            "book": _ids(book),
            "start": window.start,
            "as_of": window.date_to,
            "principal": principal_id,
            "owner": owner_id,
            "limit": limit,
        },
    )
    opportunities, total = _limited(StaleOpportunity, rows)
    return StaleOpportunitiesReport(
        as_of=window.date_to, window=window, opportunities=opportunities, total=total
    )


# ---------------------------------------------------------------------------------------------------
# Win/loss: closed won and lost per principal per quarter, with the reasons.


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
       AND o.stage IN ('closed_won', 'closed_lost')
       AND o.closed_on >= %(date_from)s::date AND o.closed_on <= %(date_to)s::date
       AND (%(book)s::bigint[] IS NULL OR o.principal_id = ANY (%(book)s::bigint[]))
       AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
       AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
)
SELECT principal_id AS principal, principal_name, quarter_start,
       grouping(principal_id) = 1 AS is_total, grouping(quarter_start) = 1 AS is_principal_total,
       count(*) FILTER (WHERE stage = 'closed_won') AS won,
       count(*) FILTER (WHERE stage = 'closed_lost') AS lost,
       coalesce(sum(weekly_case_volume) FILTER (WHERE stage = 'closed_won'), 0) AS won_weekly_case_volume,
       coalesce(sum(weekly_case_volume) FILTER (WHERE stage = 'closed_lost'), 0) AS lost_weekly_case_volume
  FROM closed
 GROUP BY GROUPING SETS ((principal_id, principal_name, quarter_start), (principal_id, principal_name), ())
"""

_WIN_LOSS_REASONS_SQL = """
SELECT o.principal_id AS principal, date_trunc('quarter', o.closed_on)::date AS quarter_start, o.stage,
       btrim(CASE WHEN o.stage = 'closed_won' THEN o.win_reason ELSE o.loss_reason END) AS reason,
       count(*) AS opportunities
  FROM opportunity o
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.deleted_at IS NULL
   AND o.stage IN ('closed_won', 'closed_lost')
   AND o.closed_on >= %(date_from)s::date AND o.closed_on <= %(date_to)s::date
   AND (%(book)s::bigint[] IS NULL OR o.principal_id = ANY (%(book)s::bigint[]))
   AND (%(principal)s::bigint IS NULL OR o.principal_id = %(principal)s::bigint)
   AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
 GROUP BY 1, 2, 3, 4
 ORDER BY count(*) DESC, 4
"""


def win_loss_period(*, today: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> Period:
    """`date_from`–`date_to`; by default the last four quarters, this one to date."""
    end = date_to or today
    return Period(date_from or quarters_back(end, 3), end)


def win_loss_report(
    *,
    tenant_id: int,
    today: dt.date,
    book: Sequence[int] | None = None,
    principal_id: int | None = None,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> WinLossReport:
    """Opportunities closed won and lost in the period (by closed_on) per principal and quarter, with the
    weekly case volume won and lost and how often each reason was given."""
    period = win_loss_period(today=today, date_from=date_from, date_to=date_to)
    params = {
        "tenant": tenant_id,
        "book": _ids(book),
        "date_from": period.date_from,
        "date_to": period.date_to,
        "principal": principal_id,
        "owner": owner_id,
    }
    reasons: dict[tuple[int | None, dt.date | None, str], list[ReasonCount]] = defaultdict(list)
    overall: dict[tuple[str, str], int] = defaultdict(int)
    per_principal: dict[tuple[int, str, str], int] = defaultdict(int)
    for r in _fetch(_WIN_LOSS_REASONS_SQL, params):
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
    for line in _fetch(_WIN_LOSS_SQL, params):
        is_total, is_principal_total = line.pop("is_total"), line.pop("is_principal_total")
        start = line.pop("quarter_start")
        principal = line["principal"]
        item = WinLossLine(
            **line,
            quarter=quarter_label(start) if start else None,
            quarter_start=start,
            win_rate=_ratio_percent(line["won"], line["won"] + line["lost"]),
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


# ---------------------------------------------------------------------------------------------------
# Distributor coverage: a principal's authorized distributors, their customers and open opportunities.


@dataclass(frozen=True)
class PrincipalRef:
    id: int
    name: str


_PRINCIPAL_SQL = """
SELECT id, name FROM organization
 WHERE tenant_id = %(tenant)s AND id = %(principal)s AND type = 'principal' AND deleted_at IS NULL
"""


def principal_of(*, tenant_id: int, principal_id: int) -> PrincipalRef | None:
    """The principal, if it exists for this user (in their book, for a manager or a viewer)."""
    rows = _fetch(_PRINCIPAL_SQL, {"tenant": tenant_id, "principal": principal_id})
    return PrincipalRef(**rows[0]) if rows else None


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
       AND o.stage NOT IN ('closed_won', 'closed_lost')
       AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
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


def coverage_period(*, today: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> Period:
    """Authorizations in force at some time from `date_from` to `date_to`; by default, today."""
    end = date_to or today
    return Period(date_from or end, end)


def coverage_report(
    *,
    tenant_id: int,
    principal: PrincipalRef,
    today: dt.date,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> CoverageReport:
    """The distributors authorized to carry `principal` during the period (today by default) and, per
    distributor, the customers it delivers to and the principal's open opportunities through it."""
    period = coverage_period(today=today, date_from=date_from, date_to=date_to)
    rows = _fetch(
        _COVERAGE_SQL,
        {
            "tenant": tenant_id,
            "principal": principal.id,
            "owner": owner_id,
            "date_from": period.date_from,
            "date_to": period.date_to,
        },
    )
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


# ---------------------------------------------------------------------------------------------------
# Principal scorecard: one principal on one page.


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
   AND o.stage NOT IN ('closed_won', 'closed_lost')
   AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
 GROUP BY o.stage
"""

_SCORECARD_ACTIVITY_SQL = """
SELECT i.type, i.occurred_at >= %(start)s AS in_period, count(*) AS interactions
  FROM interaction i
 WHERE i.tenant_id = %(tenant)s
   AND i.principal_id = %(principal)s
   AND i.deleted_at IS NULL
   AND i.occurred_at >= %(previous_start)s AND i.occurred_at < %(end)s
   AND (%(owner)s::bigint IS NULL OR i.user_id = %(owner)s::bigint)
 GROUP BY 1, 2
"""

# Customers ranked by the weekly volume won with them, then the weighted volume still open, then touches.
_SCORECARD_CUSTOMERS_SQL = """
WITH deals AS (
    SELECT o.customer_id,
           count(*) FILTER (WHERE o.stage = 'closed_won') AS won_opportunities,
           coalesce(sum(o.weekly_case_volume) FILTER (WHERE o.stage = 'closed_won'), 0) AS won_weekly_case_volume,
           count(*) FILTER (WHERE o.stage NOT IN ('closed_won', 'closed_lost')) AS open_opportunities,
           coalesce(sum(o.weighted_weekly_volume) FILTER (WHERE o.stage NOT IN ('closed_won', 'closed_lost')), 0)
               AS open_weighted_weekly_volume
      FROM opportunity o
     WHERE o.tenant_id = %(tenant)s
       AND o.principal_id = %(principal)s
       AND o.deleted_at IS NULL
       AND (%(owner)s::bigint IS NULL OR o.owner_id = %(owner)s::bigint)
     GROUP BY o.customer_id
), touches AS (
    SELECT i.organization_id, count(*) AS interactions
      FROM interaction i
     WHERE i.tenant_id = %(tenant)s
       AND i.principal_id = %(principal)s
       AND i.deleted_at IS NULL
       AND i.occurred_at >= %(start)s AND i.occurred_at < %(end)s
       AND (%(owner)s::bigint IS NULL OR i.user_id = %(owner)s::bigint)
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
 WHERE c.deleted_at IS NULL AND c.type IN ('customer', 'prospect')
 ORDER BY 4 DESC, 6 DESC, 7 DESC, c.name, c.id
 LIMIT %(limit)s
"""


def scorecard_period(*, today: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> Period:
    """`date_from`–`date_to`; by default the four weeks (28 days) up to today."""
    end = date_to or today
    return Period(date_from or end - dt.timedelta(weeks=4) + dt.timedelta(days=1), end)


def scorecard_report(
    *,
    tenant_id: int,
    principal: PrincipalRef,
    today: dt.date,
    owner_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> ScorecardReport:
    """One principal: products by status, open pipeline by stage with its weighted volume, activity in
    the period (the last four weeks by default) against the period before, and the top customers."""
    period = scorecard_period(today=today, date_from=date_from, date_to=date_to)
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
    by_status = {r["status"]: r["products"] for r in _fetch(_SCORECARD_PRODUCTS_SQL, params)}
    by_stage = {r["stage"]: r for r in _fetch(_SCORECARD_PIPELINE_SQL, params)}
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
    for r in _fetch(_SCORECARD_ACTIVITY_SQL, params):
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
        top_customers=[TopCustomer(**r) for r in _fetch(_SCORECARD_CUSTOMERS_SQL, params)],
    )


def principal_choices(*, tenant_id: int) -> Sequence[PrincipalRef]:
    """The principals this user sees (their book), by name: what the dashboard offers to pick from."""
    rows = _fetch(
        "SELECT id, name FROM organization WHERE tenant_id = %(tenant)s AND type = 'principal'"
        " AND deleted_at IS NULL ORDER BY name, id",
        {"tenant": tenant_id},
    )
    return [PrincipalRef(**r) for r in rows]
