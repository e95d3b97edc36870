"""Writes of tasks beyond a plain save: the task an interaction's follow-up creates."""

from __future__ import annotations

from datetime import time
from typing import Any

from tasks.models import Task, TaskPriority

TITLE_MAX_LENGTH = Task._meta.get_field("title").max_length or 300


def task_create_for_follow_up(
    *,
    interaction: Any,
    title: str = "",
    notes: str = "",
    assignee_id: int | None = None,
    due_time: time | None = None,
    priority: str = TaskPriority.NORMAL,
) -> Task:
    """A task due on the interaction's follow_up_on, about its organization, contact and opportunity (the
    database gives it the interaction's principal the same way), assigned to `assignee_id` or, left out, to
    whoever is acting (the database's default). In the caller's transaction: the interaction and its task
    are written together or not at all."""
    assert interaction.follow_up_on is not None, "validated by the interaction's serializer"
    # The assignee is left to the database (the acting user) when none is named.
    task = Task(
        tenant_id=interaction.tenant_id,
        title=(title or f"Follow up: {interaction.subject}")[:TITLE_MAX_LENGTH],
        notes=notes,
        assignee_id=assignee_id,  # type: ignore[misc]
        due_on=interaction.follow_up_on,
        due_time=due_time,
        priority=priority,
        organization_id=interaction.organization_id,
        contact_id=interaction.contact_id,
        opportunity_id=interaction.opportunity_id,
        principal_id=interaction.principal_id,
    )
    task.save(force_insert=True)
    return task
