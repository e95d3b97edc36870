"""The daily digest of a member's tasks (ADR 0030): found due by the periodic worker once the member's
local time passes TASK_DIGEST_HOUR, claimed and sent in one transaction so that a member gets one a local
day however many workers run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from crm import rls
from crm.models import User
from crm.timezones import zone
from tasks.selectors import DigestTasks, digest_tasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestDue:
    user: User
    local_date: dt.date
    zone: ZoneInfo


def digests_due(now: dt.datetime) -> list[DigestDue]:
    """Every active member (API keys' users aside) whose local time has passed TASK_DIGEST_HOUR today and
    who has no digest for that local day yet. Run as the worker (the owner): it reads every firm's members."""
    hour = dt.time(settings.TASK_DIGEST_HOUR)
    members = (
        User.objects.filter(is_active=True, membership__isnull=False, api_key__isnull=True)
        .exclude(email="")
        .select_related("membership__tenant")
        .order_by("id")
    )
    candidates = []
    for user in members:
        # crm.timezones.member_zone's rule (theirs, else the firm's, else UTC) from the rows at hand.
        membership = user.membership
        where = zone(membership.time_zone, default=zone(membership.tenant.time_zone))
        local = now.astimezone(where)
        if local.time() >= hour:
            candidates.append(DigestDue(user=user, local_date=local.date(), zone=where))
    if not candidates:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, local_date FROM task_digest WHERE user_id = ANY(%s) AND local_date = ANY(%s)",
            [[c.user.pk for c in candidates], sorted({c.local_date for c in candidates})],
        )
        sent = set(cursor.fetchall())
    return [c for c in candidates if (c.user.pk, c.local_date) not in sent]


def send_digest(due: DigestDue) -> bool:
    """Claims `due`'s member and day and, when they have tasks, emails them; False when another worker
    (or an earlier run) has claimed that day.

    The claim is an INSERT into task_digest's unique (user, local_date), in the transaction that sends: a
    second worker's INSERT waits for the first's transaction and then finds the row (ON CONFLICT DO
    NOTHING), so it neither sends nor blocks for longer than one send. If the send fails, or the worker dies
    before it, the transaction rolls back with its claim and the next run sends. The one window left: the
    mail server accepted the message and the worker died before COMMIT reached the database; the next run
    sends again. At least once, never lost; exactly once but for that window (ADR 0030)."""
    user = due.user
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO task_digest (user_id, local_date, time_zone, tasks, sent_at)"
                " VALUES (%s, %s, %s, 0, now()) ON CONFLICT (user_id, local_date) DO NOTHING RETURNING id",
                [user.pk, due.local_date, due.zone.key],
            )
            claimed = cursor.fetchone()
        if claimed is None:
            return False
        # The member's own view of their tasks: their RLS context, as a request of theirs would have.
        with rls.acting_as(user.pk) as context:
            if not context.is_member:
                return False  # left the firm since: the claim stays, nothing to send
            tasks = digest_tasks(user_id=user.pk, tenant_id=context.member_tenant_id, today=due.local_date)
            subject, body = digest_message(user, due.local_date, tasks)
        if len(tasks):
            send_mail(
                subject=subject,
                message=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
            with connection.cursor() as cursor:
                cursor.execute("UPDATE task_digest SET tasks = %s WHERE id = %s", [len(tasks), claimed[0]])
    return bool(len(tasks))


def digest_message(user: User, day: dt.date, tasks: DigestTasks) -> tuple[str, str]:
    """The digest's subject and plain-text body."""
    parts = []
    if tasks.due_today:
        parts.append(f"{len(tasks.due_today)} due today")
    if tasks.overdue:
        parts.append(f"{len(tasks.overdue)} overdue")
    if tasks.snoozed_until_today:
        parts.append(f"{len(tasks.snoozed_until_today)} back from snooze")
    subject = f"Your tasks for {day:%A %-d %B}: {', '.join(parts) or 'none'}"
    lines = [f"Good morning {user.get_short_name()},", ""]
    for title, group in (
        ("Due today", tasks.due_today),
        ("Overdue", tasks.overdue),
        ("Snoozed until today", tasks.snoozed_until_today),
    ):
        if not group:
            continue
        lines.append(f"{title}:")
        for task in group:
            when = f"{task.due_on:%Y-%m-%d}" + (f" {task.due_time:%H:%M}" if task.due_time else "")
            where = f" ({task.organization.name})" if task.organization is not None else ""
            flag = f" [{task.priority}]" if task.priority in ("high", "urgent") else ""
            lines.append(f"  - {task.title}{where}, due {when}{flag}")
        lines.append("")
    lines.append("Tasks at /api/v1/tasks/?assignee=me&status=open and in the admin under My tasks.")
    return subject, "\n".join(lines)


def send_due_digests(now: dt.datetime | None = None) -> int:
    """Sends every digest due at `now` (default the current time); returns how many were sent. One member's
    failure (a refused address, the mail server down) is logged and left for the next run."""
    sent = 0
    for due in digests_due(now or timezone.now()):
        try:
            sent += send_digest(due)
        except Exception:
            log.exception(
                "Task digest of user %s for %s not sent; the next run tries again.",
                due.user.pk,
                due.local_date,
            )
    return sent
