"""Follow-ups: my open follow-ups and tasks due by the day, and my open opportunities whose next action has
passed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from psycopg import sql

from reports.selectors.common import CLOSED, LIST_LIMIT, fetch, given, limited


@dataclass(frozen=True)
class FollowUpInteraction:
    kind: str  # "interaction"
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
class FollowUpTask:
    kind: str  # "task"
    id: int
    title: str
    priority: str
    due_on: dt.date
    due_time: dt.time | None
    days_overdue: int
    organization: int | None
    organization_name: str | None
    contact: int | None
    opportunity: int | None
    principal: int | None
    principal_name: str | None


@dataclass(frozen=True)
class FollowUpOpportunity:
    kind: str  # "opportunity"
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
    tasks: list[FollowUpTask]
    tasks_total: int
    opportunities: list[FollowUpOpportunity]
    opportunities_total: int


_FOLLOW_UP_INTERACTIONS_SQL = """
SELECT 'interaction' AS kind, i.id, i.type, i.subject, i.occurred_at, i.follow_up_on, %(as_of)s::date - i.follow_up_on AS days_overdue,
       i.organization_id AS organization, org.name AS organization_name, i.contact_id AS contact,
       i.opportunity_id AS opportunity, i.principal_id AS principal, p.name AS principal_name,
       count(*) OVER () AS total
  FROM interaction i
  JOIN organization org ON org.id = i.organization_id AND org.deleted_at IS NULL
  LEFT JOIN organization p ON p.id = i.principal_id
 WHERE i.tenant_id = %(tenant)s
   AND i.user_id = %(user)s
   AND i.follow_up_done = false AND i.follow_up_on IS NOT NULL AND i.deleted_at IS NULL
   AND i.follow_up_on <= %(as_of)s::date{filters}
 ORDER BY i.follow_up_on, i.occurred_at, i.id
 LIMIT %(limit)s
"""

# Open tasks assigned to the user, due by the day and not snoozed past it (a task without an organization,
# or whose organization is live).
_FOLLOW_UP_TASKS_SQL = """
SELECT 'task' AS kind, t.id, t.title, t.priority, t.due_on, t.due_time,
       %(as_of)s::date - t.due_on AS days_overdue,
       t.organization_id AS organization, org.name AS organization_name, t.contact_id AS contact,
       t.opportunity_id AS opportunity, t.principal_id AS principal, p.name AS principal_name,
       count(*) OVER () AS total
  FROM task t
  LEFT JOIN organization org ON org.id = t.organization_id AND org.deleted_at IS NULL
  LEFT JOIN organization p ON p.id = t.principal_id
 WHERE t.tenant_id = %(tenant)s
   AND t.assignee_id = %(user)s
   AND t.status = 'open' AND t.deleted_at IS NULL
   AND (t.organization_id IS NULL OR org.id IS NOT NULL)
   AND (t.snoozed_until IS NULL OR t.snoozed_until <= %(as_of)s::date)
   AND t.due_on <= %(as_of)s::date{filters}
 ORDER BY t.due_on, t.due_time NULLS LAST, t.id
 LIMIT %(limit)s
"""

_FOLLOW_UP_OPPORTUNITIES_SQL = """
SELECT 'opportunity' AS kind, o.id, o.name, o.stage, o.status, o.next_action, o.next_action_date,
       %(as_of)s::date - o.next_action_date AS days_overdue,
       o.customer_id AS customer, c.name AS customer_name, o.principal_id AS principal, p.name AS principal_name,
       o.weekly_case_volume, count(*) OVER () AS total
  FROM opportunity o
  JOIN organization c ON c.id = o.customer_id AND c.deleted_at IS NULL
  JOIN organization p ON p.id = o.principal_id AND p.deleted_at IS NULL
 WHERE o.tenant_id = %(tenant)s
   AND o.owner_id = %(user)s
   AND o.deleted_at IS NULL
   AND o.stage NOT IN {closed}
   AND o.next_action_date < %(as_of)s::date{filters}
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
    zone: object = None,
) -> FollowUpsReport:
    """`user_id`'s interactions with a follow-up due on or before `date_to` (default today: the member's,
    in their time zone; `zone` is the firm's, which dates alone do not need) and not done, their open tasks
    due by then and not snoozed past it, and their open opportunities whose next action date is before it;
    oldest first, at most `limit` of each (the totals count them all)."""
    params = {
        "tenant": tenant_id,
        "user": user_id,
        "as_of": date_to or today,
        "date_from": date_from,
        "principal": principal_id,
        "limit": limit,
    }
    interactions_query = sql.SQL(_FOLLOW_UP_INTERACTIONS_SQL).format(
        filters=given(
            params,
            date_from="i.follow_up_on >= %(date_from)s::date",
            principal="i.principal_id = %(principal)s::bigint",
        )
    )
    tasks_query = sql.SQL(_FOLLOW_UP_TASKS_SQL).format(
        filters=given(
            params,
            date_from="t.due_on >= %(date_from)s::date",
            principal="t.principal_id = %(principal)s::bigint",
        )
    )
    opportunities_query = sql.SQL(_FOLLOW_UP_OPPORTUNITIES_SQL).format(
        closed=CLOSED,
        filters=given(
            params,
            date_from="o.next_action_date >= %(date_from)s::date",
            principal="o.principal_id = %(principal)s::bigint",
        ),
    )
    interactions, interactions_total = limited(FollowUpInteraction, fetch(interactions_query, params))
    tasks, tasks_total = limited(FollowUpTask, fetch(tasks_query, params))
    opportunities, opportunities_total = limited(FollowUpOpportunity, fetch(opportunities_query, params))
    return FollowUpsReport(
        as_of=date_to or today,
        user=user_id,
        interactions=interactions,
        interactions_total=interactions_total,
        tasks=tasks,
        tasks_total=tasks_total,
        opportunities=opportunities,
        opportunities_total=opportunities_total,
    )
