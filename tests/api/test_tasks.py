"""/tasks/: defaults kept by the database, the interactions' scope rules, filters (assignee=me, due days,
overdue in the member's time zone), If-Match, soft delete and the follow-up task of an interaction."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from crm.timezones import member_today
from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/tasks/"


def test_create_assigns_the_caller_and_records_the_creator(firm, manager):
    body = ok(manager.post(URL, {"title": "Call chef about samples", "due_on": "2026-12-10"}), 201)
    assert body["assignee"] == firm.manager.pk and body["created_by"] == firm.manager.pk
    assert body["status"] == "open" and body["priority"] == "normal" and body["completed_at"] is None
    assert body["principal"] is None and body["due_time"] is None


def test_create_for_a_colleague_takes_the_principal_from_the_opportunity(firm, manager):
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    body = ok(
        manager.post(
            URL,
            {
                "title": "Send the spec sheets",
                "due_on": "2026-12-10",
                "due_time": "09:30",
                "priority": "high",
                "assignee": firm.viewer.pk,
                "opportunity": opportunity.pk,
                "organization": firm.customer.pk,
            },
        ),
        201,
    )
    assert body["assignee"] == firm.viewer.pk and body["created_by"] == firm.manager.pk
    assert body["principal"] == firm.principal_a.pk and body["due_time"] == "09:30:00"


def test_a_contact_alone_gives_its_organization(firm, manager):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    body = ok(manager.post(URL, {"title": "Thank Dana", "due_on": "2026-12-10", "contact": contact.pk}), 201)
    assert body["organization"] == firm.customer.pk


def test_a_contact_elsewhere_is_a_400(firm, manager):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    body = {"title": "x", "due_on": "2026-12-10", "contact": contact.pk, "organization": firm.customer.pk}
    assert_problem(manager.post(URL, body), 400, field="contact")


def test_assignee_of_another_firm_is_400_does_not_exist(firm, other_firm, manager):
    body = {"title": "x", "due_on": "2026-12-10", "assignee": other_firm.manager.pk}
    assert_problem(manager.post(URL, body), 400, field="assignee", code="does_not_exist")


@pytest.mark.parametrize(
    "body", [{"title": "", "due_on": "2026-12-10"}, {"title": "x"}, {"due_on": "2026-12-10"}]
)
def test_title_and_due_day_are_required(manager, body):
    assert_problem(manager.post(URL, body), 400)


def test_done_keeps_completed_at_and_clears_the_snooze_reopen_clears_it(firm, manager):
    task = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, snoozed_until=dt.date(2026, 12, 20))
    url = f"{URL}{task.pk}/"
    done = ok(manager.patch(url, {"status": "done"}))
    assert done["completed_at"] is not None and done["snoozed_until"] is None
    again = ok(manager.patch(url, {"notes": "left a voicemail too"}))
    assert again["completed_at"] == done["completed_at"]
    reopened = ok(manager.patch(url, {"status": "open"}))
    assert reopened["completed_at"] is None


def test_completed_at_is_not_the_clients_to_write(firm, manager):
    task = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager)
    body = ok(manager.patch(f"{URL}{task.pk}/", {"completed_at": "2020-01-01T00:00:00Z"}))
    assert body["completed_at"] is None


def test_if_match_refuses_a_stale_version(firm, manager):
    task = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager)
    url = f"{URL}{task.pk}/"
    etag = manager.get(url)["ETag"]
    ok(manager.patch(url, {"priority": "urgent"}, HTTP_IF_MATCH=etag))
    assert_problem(manager.patch(url, {"priority": "low"}, HTTP_IF_MATCH=etag), 412)


def test_soft_delete_hides_the_task(firm, manager):
    task = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager)
    url = f"{URL}{task.pk}/"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert task.pk not in result_ids(manager, URL)


def test_who_sees_which_task(firm, admin, manager, viewer):
    shared = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, organization=firm.customer)
    of_a = f.TaskFactory(tenant=firm.tenant, assignee=firm.manager, principal=firm.principal_a)
    of_b = f.TaskFactory(tenant=firm.tenant, assignee=firm.other_manager, principal=firm.principal_b)
    assert set(result_ids(admin, URL)) == {shared.pk, of_a.pk, of_b.pk}
    assert set(result_ids(manager, URL)) == {shared.pk, of_a.pk}
    assert set(result_ids(viewer, URL)) == {of_a.pk}  # viewers do not see shared rows, as interactions


def test_a_task_at_a_principal_is_that_principals(firm, manager):
    body = ok(
        manager.post(URL, {"title": "x", "due_on": "2026-12-10", "organization": firm.principal_a.pk}), 201
    )
    assert body["principal"] == firm.principal_a.pk


@pytest.fixture
def todo(firm):
    today = member_today(firm.manager)
    deli = f.CustomerFactory(tenant=firm.tenant, name="Corner Deli")
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=deli)

    def task(**values):
        return f.TaskFactory(tenant=firm.tenant, **{"assignee": firm.manager, **values})

    return {
        "late": task(due_on=today - dt.timedelta(days=3), organization=deli),
        "snoozed": task(due_on=today - dt.timedelta(days=2), snoozed_until=today + dt.timedelta(days=1)),
        "today": task(due_on=today, opportunity=opportunity, organization=deli),
        "later": task(due_on=today + dt.timedelta(days=5)),
        "done": task(due_on=today - dt.timedelta(days=9), status="done"),
        "theirs": task(due_on=today - dt.timedelta(days=1), assignee=firm.other_manager),
        "deli": deli,
        "opportunity": opportunity,
        "today_date": today,
    }


def test_filters_narrow_the_list(firm, manager, todo):
    def listed(query):
        names = {k for k, v in todo.items() if hasattr(v, "pk") and v.__class__.__name__ == "Task"}
        found = set(result_ids(manager, f"{URL}?{query}"))
        return {n for n in names if todo[n].pk in found}

    today = todo["today_date"]
    assert listed("assignee=me") == {"late", "snoozed", "today", "later", "done"}
    assert listed(f"assignee={firm.other_manager.pk}") == {"theirs"}
    assert listed("assignee=me&status=open") == {"late", "snoozed", "today", "later"}
    assert listed("status=done,cancelled") == {"done"}
    assert listed(f"assignee=me&due_before={today}") == {"late", "snoozed", "done"}  # before the day
    assert listed(f"due_after={today}") == {"today", "later"}  # on or after it
    assert listed("overdue=true") == {"late", "theirs"}  # open, not snoozed, before today
    assert "late" not in listed("overdue=false") and "done" in listed("overdue=false")
    assert listed(f"organization={todo['deli'].pk}") == {"late", "today"}
    assert listed(f"opportunity={todo['opportunity'].pk}") == {"today"}
    assert listed(f"principal={firm.principal_a.pk}") == {"today"}


@pytest.mark.parametrize("value", ["you", "١٢", "12x", "1" * 19])
def test_an_assignee_other_than_me_or_ascii_digits_is_refused_as_the_schema_says(manager, value):
    """The schema's pattern (^(me|[0-9]{1,18})$) and the filter agree: other digits are refused too."""
    assert_problem(manager.get(f"{URL}?assignee={quote(value)}"), 400, field="assignee", code="invalid")


def test_the_list_is_by_due_day(firm, manager, todo):
    ids = result_ids(manager, f"{URL}?assignee=me&status=open")
    assert ids == [todo[n].pk for n in ("late", "snoozed", "today", "later")]


@pytest.mark.parametrize(
    "query",
    [
        "assignee=you",
        "assignee=1.5",
        "assignee=-1",
        "status=closed",
        "overdue=maybe",
        "due_before=soon",
        "owner=1",
    ],
)
def test_bad_or_unknown_parameters_are_400(manager, query):
    assert_problem(manager.get(f"{URL}?{query}"), 400)


def test_expand_embeds_the_assignee_and_the_opportunity(firm, manager, todo):
    body = ok(manager.get(f"{URL}{todo['today'].pk}/?expand=assignee,opportunity,created_by"))
    assert body["assignee"]["id"] == firm.manager.pk and body["opportunity"]["id"] == todo["opportunity"].pk


def test_the_follow_ups_report_lists_my_open_tasks_due_with_their_kind(firm, manager, todo):
    body = ok(manager.get(f"{API}/reports/follow-ups/?date_to={todo['today_date']}"))
    assert [(t["kind"], t["id"]) for t in body["tasks"]] == [
        ("task", todo["late"].pk),
        ("task", todo["today"].pk),
    ]
    assert body["tasks_total"] == 2 and body["tasks"][0]["organization_name"] == "Corner Deli"
    response = manager.get(f"{API}/reports/follow-ups/?date_to={todo['today_date']}&format=csv")
    lines = response.content.decode().splitlines()
    assert sum(line.startswith("task,") for line in lines) == 2
