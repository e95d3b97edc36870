"""Reads of tasks beyond a list: what a member's daily digest holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q

from tasks.models import Task, TaskStatus


@dataclass
class DigestTasks:
    """One member's open tasks for their day: back from a snooze today, due today, overdue."""

    snoozed_until_today: list[Task] = field(default_factory=list)
    due_today: list[Task] = field(default_factory=list)
    overdue: list[Task] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.snoozed_until_today) + len(self.due_today) + len(self.overdue)


def digest_tasks(*, user_id: int, tenant_id: int, today: dt.date, limit: int = 200) -> DigestTasks:
    """`user_id`'s open tasks (those their RLS context shows) due on or before `today` and not snoozed past
    it, and those whose snooze ends `today`; most urgent first within each part, at most `limit`."""
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today)
    rows = (
        Task.objects.filter(
            tenant_id=tenant_id, assignee_id=user_id, status=TaskStatus.OPEN, deleted_at__isnull=True
        )
        .filter((Q(due_on__lte=today) & awake) | Q(snoozed_until=today))
        .select_related("organization")
        .order_by("due_on", "due_time", "id")[:limit]
    )
    digest = DigestTasks()
    for task in rows:
        if task.snoozed_until == today:
            digest.snoozed_until_today.append(task)
        elif task.due_on == today:
            digest.due_today.append(task)
        else:
            digest.overdue.append(task)
    return digest
