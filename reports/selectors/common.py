"""What the report selectors share: periods, the caller's book, and the SQL plumbing (psycopg.sql).

The queries run as whoever the transaction runs as. In a request that is the runtime role with the user's
RLS variables, so a manager's report covers their book and a viewer's theirs whatever the SQL here says.
The explicit `tenant_id = …` and `book` conditions only help the planner: the policies read the book from
a setting the planner cannot see, OR-ed with the admin case, so on their own they leave it no index but a
scan of the firm's rows. The book passed in as literal ids (`book_of`) lets it read just the book's
principals from the principal-leading indexes; it never widens what RLS shows. Soft-deleted rows are left
out everywhere. Days and ISO weeks (Monday first) are the firm's, counted in its time zone (`zone`,
tenant.time_zone, ADR 0028): period bounds are its midnights, and SQL that buckets a timestamp by day or
week reads it `AT TIME ZONE %(zone)s` (the connection itself stays in UTC, which Django's loaders need).

Queries are composed with psycopg's `sql` module. Values stay parameters (`%(name)s`), which reach the
server as literals (client-side binding); the model's choices (stages, types) go in as `sql.Literal`s so
the text matches the partial indexes' predicates. An optional filter is added by `given()` only when its
parameter is given, so the statement carries only the conditions that narrow it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from psycopg import sql

from crm.rls import RequestContext
from interactions.models import InteractionType
from opportunities.models import CLOSED_STAGES, Stage
from organizations.models import OrganizationType

OPEN_STAGES: tuple[str, ...] = tuple(s for s in Stage.values if s not in CLOSED_STAGES)
STAGE_ORDER = {stage: index for index, stage in enumerate(Stage.values)}
INTERACTION_TYPES: tuple[str, ...] = tuple(InteractionType.values)
ZERO = Decimal(0)
# Lists (follow-ups, stale accounts and deals) stop here unless asked for more; their totals count all.
LIST_LIMIT = 100


# ---------------------------------------------------------------------------------------------------
# Periods.


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


UTC = zoneinfo.ZoneInfo("UTC")


def utc_today() -> dt.date:
    """Today in UTC: the default of code that is not told a firm's zone."""
    return dt.datetime.now(dt.UTC).date()


def midnight(day: dt.date, zone: dt.tzinfo = UTC) -> dt.datetime:
    """The instant `day` begins in `zone` (a DST change moves it, never by a day)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


@dataclass(frozen=True)
class Period:
    """Whole days from `date_from` to `date_to`, both included, as days of `zone`."""

    date_from: dt.date
    date_to: dt.date
    zone: zoneinfo.ZoneInfo = UTC

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(
            self.date_from - dt.timedelta(days=self.days), self.date_from - dt.timedelta(days=1), self.zone
        )

    @property
    def start(self) -> dt.datetime:
        return midnight(self.date_from, self.zone)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound, so range scans use the index)."""
        return midnight(self.date_to + dt.timedelta(days=1), self.zone)


def book_of(context: RequestContext) -> tuple[int, ...] | None:
    """The principals the caller's reports can cover, for the selectors' `book`: a manager's or a viewer's
    book, or None (the whole firm) for an admin, whose book is every principal."""
    return None if context.is_admin else context.book


# ---------------------------------------------------------------------------------------------------
# SQL plumbing.


def literals(*values: str) -> sql.Composed:
    """Choice values as a parenthesized list of literals: `('closed_won', 'closed_lost')`."""
    return sql.SQL("({})").format(sql.SQL(", ").join(sql.Literal(str(value)) for value in values))


# Choice values the queries compare with, as literals (the partial indexes' predicates carry them so).
CLOSED = literals(*CLOSED_STAGES)
WON = sql.Literal(str(Stage.CLOSED_WON))
LOST = sql.Literal(str(Stage.CLOSED_LOST))
PRINCIPAL = sql.Literal(str(OrganizationType.PRINCIPAL))
ACCOUNT_TYPES = literals(OrganizationType.CUSTOMER, OrganizationType.PROSPECT)


def given(params: Mapping[str, Any], **conditions: str) -> sql.Composed:
    """`AND <condition>` for each named parameter that is given (not None), nothing for the others.

    The condition names its value as `%(name)s`; a parameter left out leaves no `IS NULL OR` branch for
    the planner to fold, so each combination of filters is its own plain statement.
    """
    return sql.Composed(
        [
            sql.SQL("\n   AND {}").format(sql.SQL(condition))
            for name, condition in conditions.items()
            if params[name] is not None
        ]
    )


def fetch(query: sql.Composable, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of `query` as dicts by column name."""
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection), params)
        columns = [column.name for column in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def ids(book: Sequence[int] | None) -> list[int] | None:
    """`book` as a list, which psycopg sends as an array literal (None: not given, no condition)."""
    return None if book is None else list(book)


def limited(kind: Any, rows: list[dict[str, Any]]) -> tuple[list[Any], int]:
    """Rows of a limited list as `kind`, and the total before the limit (`count(*) OVER ()` in each)."""
    total = rows[0]["total"] if rows else 0
    return [kind(**{k: v for k, v in row.items() if k != "total"}) for row in rows], total


def change_percent(current: int | Decimal, previous: int | Decimal) -> Decimal | None:
    """Change against the previous figure in percent (one decimal); None when there was nothing before."""
    if not previous:
        return None
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(Decimal("0.1"))


def ratio_percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class ActivityTypeTotal:
    """Interactions of one type in a period and the one before (weekly activity, scorecard)."""

    type: str
    interactions: int
    previous_interactions: int
    change: int
