"""The demo firm's tasks: each manager's (and the admin's) to-dos about their deals and accounts, spread over
the past fortnight and the coming two weeks, some done, one cancelled, some snoozed, so `make run` shows
overdue, due today and coming tasks in the admin, the follow-ups report and the digest."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from tasks.models import Task, TaskPriority, TaskStatus

# Their own generator: adding tasks leaves every other demo row as it was.
TASKS_SEED = "2026-tasks"

DEAL_TASKS = (
    "Send the spec sheets for {principal}",
    "Confirm the sample delivery at {customer}",
    "Ask {customer}'s chef for feedback on {principal}",
    "Get {principal} pricing approved for {customer}",
    "Book a tasting of {principal} at {customer}",
    "Chase the item set-up form for {customer}",
)
ACCOUNT_TASKS = (
    "Quarterly check-in with {customer}",
    "Update {customer}'s buyer contact",
    "Drop off the new menu ideas at {customer}",
)


def add_demo_tasks(builder: Any) -> None:
    """Tasks for the demo firm built by workbench.demo's builder (its tenant, members, deals, accounts)."""
    rng = random.Random(TASKS_SEED)
    today: dt.date = builder.today
    tasks: list[Task] = []
    members = [*builder.managers, builder.admin]
    for member in members:
        own_deals = [
            o for o in builder.opportunities if builder.principal_manager.get(o.principal_id) == member
        ]
        deals = own_deals or builder.opportunities
        for n in range(12):
            offset = rng.randint(-12, 14)
            status = TaskStatus.OPEN
            if offset < -3 and n % 3 == 0:
                status = TaskStatus.DONE
            elif n == 11:
                status = TaskStatus.CANCELLED
            deal = rng.choice(deals) if n % 4 != 3 else None
            customer = deal.customer if deal is not None else rng.choice(builder._accounts())
            template = rng.choice(DEAL_TASKS if deal is not None else ACCOUNT_TASKS)
            principal_name = deal.principal.name if deal is not None else ""
            # The admin hands a few to the managers; the rest are the members' own.
            creator = builder.admin if member != builder.admin and n % 5 == 0 else member
            snoozed = (
                today + dt.timedelta(days=rng.randint(0, 3)) if status == TaskStatus.OPEN and n == 7 else None
            )
            tasks.append(
                Task(
                    tenant=builder.tenant,
                    created_by=creator,
                    updated_by=creator,
                    assignee=member,
                    title=template.format(principal=principal_name, customer=customer.name),
                    due_on=today + dt.timedelta(days=offset),
                    due_time=dt.time(rng.choice((8, 9, 10, 14, 16)), rng.choice((0, 30))) if n % 2 else None,
                    priority=rng.choice(
                        (
                            TaskPriority.NORMAL,
                            TaskPriority.NORMAL,
                            TaskPriority.HIGH,
                            TaskPriority.LOW,
                            TaskPriority.URGENT,
                        )
                    ),
                    status=status,
                    snoozed_until=snoozed,
                    organization=customer,
                    opportunity=deal,
                )
            )
    # Today's, to open the day with: one due now for each manager.
    for member in builder.managers:
        deal = rng.choice(builder.opportunities)
        tasks.append(
            Task(
                tenant=builder.tenant,
                created_by=member,
                updated_by=member,
                assignee=member,
                title=f"Call {deal.customer.name} about {deal.principal.name}",
                due_on=today,
                due_time=dt.time(11, 0),
                priority=TaskPriority.HIGH,
                organization=deal.customer,
                opportunity=deal,
            )
        )
    Task.objects.bulk_create(tasks)
