"""The daily digest (ADR 0030): due once the member's local time passes TASK_DIGEST_HOUR, sent once a
member and local day whatever runs it, under the member's RLS, across daylight saving changes; a failed
send leaves no claim behind."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections

from tasks.digest import digests_due, send_due_digests
from tests import factories as f
from tests.conftest import Firm

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def digest_rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, local_date, time_zone, tasks FROM task_digest ORDER BY user_id, local_date"
        )
        return cursor.fetchall()


def in_zone(firm: Firm, zone: str) -> None:
    """The firm's members live in `zone` (the firm's time zone, crm 0028)."""
    from crm.models import Tenant

    Tenant.objects.filter(pk=firm.tenant.pk).update(time_zone=zone)


@pytest.fixture
def todo(firm: Firm) -> dict[str, Any]:
    day = dt.date(2026, 12, 7)

    def task(**values: Any) -> Any:
        return f.TaskFactory(
            tenant=firm.tenant, **{"assignee": firm.manager, "organization": firm.customer, **values}
        )

    return {
        "today": task(title="Call the chef", due_on=day, due_time=dt.time(9, 30), priority="high"),
        "late": task(title="Send the price list", due_on=day - dt.timedelta(days=2)),
        "back": task(title="Ask about the trial", due_on=day + dt.timedelta(days=3), snoozed_until=day),
        "snoozed": task(
            title="Not yet", due_on=day - dt.timedelta(days=1), snoozed_until=day + dt.timedelta(days=1)
        ),
        "later": task(title="Next week", due_on=day + dt.timedelta(days=7)),
        "done": task(title="Done already", due_on=day, status="done"),
        "of_b": task(title="Principal B's", due_on=day, principal=firm.principal_b, organization=None),
        "day": day,
    }


def test_a_member_gets_their_due_overdue_and_snoozed_tasks_once_a_day(
    firm: Firm, todo: dict[str, Any]
) -> None:
    assert send_due_digests(at(2026, 12, 7, 6, 59)) == 0  # before 07:00 (UTC, the default zone)
    assert mail.outbox == []
    send_due_digests(at(2026, 12, 7, 7, 0))
    (message,) = [m for m in mail.outbox if m.to == [firm.manager.email]]
    assert message.subject == "Your tasks for Monday 7 December: 1 due today, 1 overdue, 1 back from snooze"
    assert "Call the chef (Acme Bistro), due 2026-12-07 09:30 [high]" in message.body
    assert "Send the price list" in message.body and "Ask about the trial" in message.body
    # Snoozed past today, later, done: not in it. Principal B's is not in the manager's book (RLS).
    for absent in ("Not yet", "Next week", "Done already", "Principal B's"):
        assert absent not in message.body
    mail.outbox.clear()
    assert send_due_digests(at(2026, 12, 7, 18, 0)) == 0  # the same local day: already sent
    assert mail.outbox == []
    assert (firm.manager.pk, todo["day"], "UTC", 3) in digest_rows()


def test_members_without_tasks_get_no_mail_but_their_day_is_done(firm: Firm, todo: dict[str, Any]) -> None:
    send_due_digests(at(2026, 12, 7, 8, 0))
    assert {m.to[0] for m in mail.outbox} == {firm.manager.email}
    claimed = {row[0] for row in digest_rows()}
    assert {firm.admin.pk, firm.viewer.pk, firm.other_manager.pk, firm.manager.pk} <= claimed
    assert digests_due(at(2026, 12, 7, 9, 0)) == []


def test_a_failed_send_leaves_no_claim_and_the_next_run_sends(
    firm: Firm, todo: dict[str, Any], settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    assert send_due_digests(at(2026, 12, 7, 7, 5)) == 0
    assert firm.manager.pk not in {row[0] for row in digest_rows()}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_due_digests(at(2026, 12, 7, 7, 10)) == 1
    assert [m.to for m in mail.outbox] == [[firm.manager.email]]


@pytest.mark.parametrize(
    ("zone", "before", "after", "day"),
    [
        # Spring forward (US, 8 March 2026): 07:00 EDT is 11:00 UTC, an hour earlier than the day before.
        ("America/New_York", at(2026, 3, 8, 10, 59), at(2026, 3, 8, 11, 0), dt.date(2026, 3, 8)),
        ("America/New_York", at(2026, 3, 7, 11, 59), at(2026, 3, 7, 12, 0), dt.date(2026, 3, 7)),
        # Fall back (1 November 2026): 07:00 EST is 12:00 UTC.
        ("America/New_York", at(2026, 11, 1, 11, 59), at(2026, 11, 1, 12, 0), dt.date(2026, 11, 1)),
        # Ahead of UTC: Sydney's 7 December starts on 6 December in UTC (DST in force there, UTC+11).
        ("Australia/Sydney", at(2026, 12, 6, 19, 59), at(2026, 12, 6, 20, 0), dt.date(2026, 12, 7)),
    ],
)
def test_the_digest_is_due_at_the_members_local_hour_across_dst(
    firm: Firm, zone: str, before: dt.datetime, after: dt.datetime, day: dt.date
) -> None:
    in_zone(firm, zone)
    f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, due_on=day)
    assert firm.manager.pk not in {d.user.pk for d in digests_due(before)}
    (due,) = [d for d in digests_due(after) if d.user.pk == firm.manager.pk]
    assert (due.local_date, due.zone.key) == (day, zone)
    assert send_due_digests(after) == 1 and mail.outbox[0].subject.startswith(
        f"Your tasks for {day:%A %-d %B}"
    )


@pytest.mark.django_db(transaction=True)
def test_workers_racing_send_one_digest_a_member() -> None:
    from tests.conftest import make_firm

    firm = make_firm("Racing")
    f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, due_on=dt.date(2026, 12, 7))
    f.TaskFactory(tenant=firm.tenant, assignee=firm.other_manager, due_on=dt.date(2026, 12, 6))
    start = threading.Barrier(4)
    sent: list[int] = []

    def worker() -> None:
        try:
            start.wait()
            sent.append(send_due_digests(at(2026, 12, 7, 7, 30)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([firm.manager.email, firm.other_manager.email])
