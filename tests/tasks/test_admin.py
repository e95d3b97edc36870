"""The tasks admin opens on the signed-in member's open tasks ("My tasks"); everyone's on request; a
bulk action marks tasks done through the database's rules; the dashboard lists my tasks due."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from crm.timezones import member_today
from tasks.models import Task
from tests import factories as f
from tests.conftest import Firm

TASKS = "/admin/tasks/task/"


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, query: str = "") -> set[str]:
    response = client.get(f"{TASKS}{query}")
    assert response.status_code == 200
    return {task.title for task in response.context["cl"].result_list}


def test_the_list_opens_on_my_open_tasks(firm: Firm) -> None:
    today = member_today(firm.manager)
    f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, title="Mine", due_on=today)
    f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, title="Mine, done", due_on=today, status="done")
    f.TaskFactory(tenant=firm.tenant, assignee=firm.other_manager, title="Theirs", due_on=today)
    f.TaskFactory(
        tenant=firm.tenant, assignee=firm.manager, title="Mine, late", due_on=today - dt.timedelta(days=2)
    )
    client = signed_in(firm.manager)
    assert listed(client) == {"Mine", "Mine, late"}
    assert listed(client, "?assigned=all") == {"Mine", "Mine, late", "Theirs"}
    assert listed(client, "?state=done") == {"Mine, done"}
    assert listed(client, "?state=any&assigned=all") == {"Mine", "Mine, done", "Mine, late", "Theirs"}
    assert listed(client, "?due=overdue") == {"Mine, late"}
    page = client.get(TASKS).content.decode()
    assert "Mine" in page and "Everyone" in page


def test_mark_done_keeps_completed_at_and_history(firm: Firm) -> None:
    task = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, title="Call back")
    response = signed_in(firm.manager).post(
        TASKS, {"action": "mark_done", "_selected_action": [task.pk], "index": 0}
    )
    assert response.status_code == 302
    done = Task.objects.get(pk=task.pk)
    assert done.status == "done" and done.completed_at is not None and done.version == 2


def test_the_dashboard_lists_my_tasks_due(firm: Firm) -> None:
    today = member_today(firm.manager)
    f.TaskFactory(
        tenant=firm.tenant, assignee=firm.manager, title="Ring the chef", due_on=today, priority="urgent"
    )
    f.TaskFactory(tenant=firm.tenant, assignee=firm.other_manager, title="Not mine", due_on=today)
    page = signed_in(firm.manager).get("/admin/dashboard/").content.decode()
    assert "Ring the chef (urgent)" in page and "Not mine" not in page
