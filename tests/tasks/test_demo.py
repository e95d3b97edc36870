"""The demo firm has tasks for every manager: overdue, due today and coming, some done or snoozed."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import timezone

from crm.models import Membership
from tasks.models import Task
from workbench.demo import demo_tenant


def test_demo_tasks_spread_over_past_and_coming_days(db: None) -> None:
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    tenant = demo_tenant()
    tasks = Task.objects.filter(tenant=tenant)
    today = timezone.localdate()
    open_tasks = tasks.filter(status="open")
    assert open_tasks.filter(due_on__lt=today).exists() and open_tasks.filter(due_on__gt=today).exists()
    assert open_tasks.filter(due_on=today).exists()
    assert tasks.filter(status="done", completed_at__isnull=False).exists()
    assert tasks.filter(snoozed_until__isnull=False).exists()
    assert tasks.filter(principal__isnull=False).exists() and tasks.filter(principal__isnull=True).exists()
    managers = Membership.objects.filter(tenant=tenant, role="manager").values_list("user_id", flat=True)
    assert set(managers) <= set(open_tasks.values_list("assignee_id", flat=True))
