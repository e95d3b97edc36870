"""/interactions/: CRUD with soft delete, defaults, filters, subject search, ordering, expansion."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/interactions/"


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def test_create_defaults_the_logger_to_the_caller(firm, manager):
    body = ok(
        manager.post(
            URL,
            {
                "type": "site_visit",
                "occurred_at": "2026-11-20T15:00:00Z",
                "duration_minutes": 45,
                "subject": "Kitchen walk-through",
                "organization": firm.customer.pk,
                "sentiment": "positive",
                "follow_up_on": "2026-11-27",
            },
        ),
        201,
    )
    assert body["user"] == firm.manager.pk and body["created_by"] == firm.manager.pk
    assert body["principal"] is None and body["follow_up_done"] is False


def test_create_takes_the_principal_from_the_opportunity(firm, manager):
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    body = ok(
        manager.post(
            URL,
            {
                "type": "call",
                "occurred_at": "2026-11-20T15:00:00Z",
                "subject": "Pricing call",
                "organization": firm.customer.pk,
                "opportunity": opportunity.pk,
            },
        ),
        201,
    )
    assert body["principal"] == firm.principal_a.pk


def test_create_may_name_another_member_as_the_logger(firm, manager):
    body = {
        "type": "note",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": "Logged for a colleague",
        "organization": firm.customer.pk,
        "user": firm.other_manager.pk,
    }
    assert ok(manager.post(URL, body), 201)["user"] == firm.other_manager.pk


def test_logger_from_another_firm_is_400_does_not_exist(firm, other_firm, manager):
    body = {
        "type": "note",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": "x",
        "organization": firm.customer.pk,
        "user": other_firm.manager.pk,
    }
    assert_problem(manager.post(URL, body), 400, field="user", code="does_not_exist")


def test_retrieve_update_and_soft_delete(firm, manager):
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, subject="Intro call")
    url = f"{URL}{interaction.pk}/"
    assert ok(manager.get(url))["subject"] == "Intro call"
    body = ok(manager.patch(url, {"follow_up_done": True, "outcome": "Wants samples"}))
    assert body["follow_up_done"] is True and body["outcome"] == "Wants samples"
    assert body["subject"] == "Intro call"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert interaction.pk not in result_ids(manager, URL)


@pytest.fixture
def touches(firm):
    deli = f.CustomerFactory(tenant=firm.tenant, name="Corner Deli")
    dana = f.ContactFactory(tenant=firm.tenant, organization=deli, first_name="Dana")
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=deli)
    return {
        "call": f.InteractionFactory(
            tenant=firm.tenant, type="call", occurred_at=at(2), subject="Intro call with chef", organization=deli,
            contact=dana, user=firm.manager, sentiment="neutral", follow_up_on=dt.date(2026, 11, 5),
        ),
        "sample": f.InteractionFactory(
            tenant=firm.tenant, type="sample", occurred_at=at(9), subject="Dropped fries samples",
            organization=deli, opportunity=opportunity, user=firm.other_manager, sentiment="positive",
            follow_up_on=dt.date(2026, 11, 12), outcome="Loved the crinkle cut",
        ),
        "done": f.InteractionFactory(
            tenant=firm.tenant, type="email", occurred_at=at(16), subject="Pricing sheet sent",
            organization=firm.customer, user=firm.manager, follow_up_on=dt.date(2026, 11, 1), follow_up_done=True,
        ),
        "deli": deli,
        "dana": dana,
        "opportunity": opportunity,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=call", {"call"}),
        ("type=sample&type=email", {"sample", "done"}),
        ("sentiment=positive", {"sample"}),
        ("occurred_after=2026-11-05T00:00:00Z", {"sample", "done"}),
        ("occurred_before=2026-11-09T10:00:00Z", {"call"}),  # exclusive upper bound
        ("occurred_after=2026-11-02T10:00:00Z&occurred_before=2026-11-16T00:00:00Z", {"call", "sample"}),
        ("follow_up_due=2026-11-10", {"call"}),  # open follow-ups only
        ("follow_up_due=2026-11-30", {"call", "sample"}),
        ("follow_up_done=true", {"done"}),
    ],
)
def test_filters_narrow_the_list(manager, touches, query, expected):
    assert set(result_ids(manager, f"{URL}?{query}")) == {touches[n].pk for n in expected}


def test_filter_by_organization_contact_opportunity_principal_and_user(firm, manager, touches):
    assert set(result_ids(manager, f"{URL}?organization={touches['deli'].pk}")) == {
        touches["call"].pk,
        touches["sample"].pk,
    }
    assert result_ids(manager, f"{URL}?contact={touches['dana'].pk}") == [touches["call"].pk]
    assert result_ids(manager, f"{URL}?opportunity={touches['opportunity'].pk}") == [touches["sample"].pk]
    assert result_ids(manager, f"{URL}?principal={firm.principal_a.pk}") == [touches["sample"].pk]
    assert set(result_ids(manager, f"{URL}?user={firm.manager.pk}")) == {
        touches["call"].pk,
        touches["done"].pk,
    }


def test_bad_datetime_in_a_filter_is_400(manager):
    assert_problem(manager.get(f"{URL}?occurred_after=yesterday"), 400, field="occurred_after")


@pytest.mark.parametrize(
    ("search", "expected"),
    [("intro", {"call"}), ("drop fri", {"sample"}), ("pric", {"done"}), ("loved crinkle", {"sample"})],
)
def test_search_matches_prefixes_of_subject_and_outcome(manager, touches, search, expected):
    assert set(result_ids(manager, f"{URL}?search={search}")) == {touches[n].pk for n in expected}


def test_default_ordering_is_most_recent_first(manager, touches):
    assert result_ids(manager, URL) == [touches["done"].pk, touches["sample"].pk, touches["call"].pk]
    assert result_ids(manager, f"{URL}?ordering=occurred_at") == [
        touches["call"].pk,
        touches["sample"].pk,
        touches["done"].pk,
    ]


def test_expand_embeds_organization_contact_opportunity_principal_and_user(firm, manager, touches):
    url = f"{URL}{touches['sample'].pk}/?expand=organization,contact,opportunity,principal,user"
    row = ok(manager.get(url))
    assert row["organization"] == {"id": touches["deli"].pk, "name": "Corner Deli", "type": "customer"}
    assert row["contact"] is None
    assert row["opportunity"]["id"] == touches["opportunity"].pk
    assert row["principal"]["id"] == firm.principal_a.pk
    assert row["user"]["id"] == firm.other_manager.pk
    rows = ok(manager.get(f"{URL}?expand=contact&contact={touches['dana'].pk}"))["results"]
    assert rows[0]["contact"]["first_name"] == "Dana"


def test_contact_of_another_organization_is_400_naming_contact(firm, manager, touches):
    body = {
        "type": "call",
        "occurred_at": "2026-11-20T10:00:00Z",
        "subject": "Wrong contact",
        "organization": firm.customer.pk,
        "contact": touches["dana"].pk,
    }
    assert_problem(manager.post(URL, body), 400, field="contact")
    assert not result_ids(manager, f"{URL}?search=wrong")


def test_negative_duration_is_400(firm, manager):
    body = {
        "type": "call",
        "occurred_at": "2026-11-20T10:00:00Z",
        "subject": "Call",
        "organization": firm.customer.pk,
        "duration_minutes": -5,
    }
    assert_problem(manager.post(URL, body), 400, field="duration_minutes")


def test_unknown_type_and_missing_subject_are_400(firm, manager):
    body = {"type": "smoke_signal", "occurred_at": "2026-11-20T10:00:00Z", "organization": firm.customer.pk}
    problem = assert_problem(manager.post(URL, body), 400)
    assert {e["field"] for e in problem["errors"]} == {"type", "subject"}


@pytest.mark.parametrize("way", ["id list", "cap reached", "probe cancelled"])
@pytest.mark.parametrize(("search", "expected"), [("intro", {"call"}), ("pric", {"done"}), ("zzzq", set())])
def test_search_finds_the_same_rows_whichever_way_it_goes(
    manager, touches, monkeypatch, way, search, expected
):
    """crm.api.filters.search: an id list from the capped search function when matches are few and found
    fast, else a walk of the list's index; a cancelled probe must leave the request's transaction usable."""
    from crm.api import filters
    from interactions.models import Interaction

    if way == "cap reached":
        monkeypatch.setattr(Interaction, "search_id_cap", 1)
    if way == "probe cancelled":
        # A probe that can only time out: the same call, made to sleep past the timeout first.
        monkeypatch.setattr(filters, "SEARCH_PROBE_TIMEOUT", "1ms")
        real = filters.search_function
        monkeypatch.setattr(
            filters, "search_function", lambda table: f"(pg_sleep(0.05) IS NULL)::int + {real(table)}"
        )
    assert set(result_ids(manager, f"{URL}?search={search}")) == {touches[n].pk for n in expected}


def test_a_follow_up_can_create_a_task_for_a_colleague(firm, manager):
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    body = ok(
        manager.post(
            URL,
            {
                "type": "sample",
                "occurred_at": "2026-11-20T15:00:00Z",
                "subject": "Dropped fries samples",
                "organization": firm.customer.pk,
                "opportunity": opportunity.pk,
                "follow_up_on": "2026-11-27",
                "follow_up_task": {"assignee": firm.viewer.pk, "priority": "high", "due_time": "10:00"},
            },
            format="json",
        ),
        201,
    )
    assert "follow_up_task" not in body
    tasks = ok(manager.get(f"{API}/tasks/?opportunity={opportunity.pk}"))["results"]
    assert [
        (
            t["title"],
            t["due_on"],
            t["due_time"],
            t["assignee"],
            t["priority"],
            t["principal"],
            t["created_by"],
        )
        for t in tasks
    ] == [
        (
            "Follow up: Dropped fries samples",
            "2026-11-27",
            "10:00:00",
            firm.viewer.pk,
            "high",
            firm.principal_a.pk,
            firm.manager.pk,
        )
    ]


def test_a_follow_up_task_defaults_to_the_caller(firm, manager):
    ok(
        manager.post(
            URL,
            {
                "type": "call",
                "occurred_at": "2026-11-20T15:00:00Z",
                "subject": "Menu review",
                "organization": firm.customer.pk,
                "follow_up_on": "2026-11-27",
                "follow_up_task": {"title": "Send the price list"},
            },
            format="json",
        ),
        201,
    )
    (task,) = ok(manager.get(f"{API}/tasks/?assignee=me"))["results"]
    assert task["title"] == "Send the price list" and task["organization"] == firm.customer.pk


def test_a_follow_up_task_needs_the_follow_up_day_and_a_create(firm, manager):
    body = {
        "type": "call",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": "Menu review",
        "organization": firm.customer.pk,
        "follow_up_task": {},
    }
    assert_problem(manager.post(URL, body, format="json"), 400, field="follow_up_task")
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, user=firm.manager)
    patch = {"follow_up_on": "2026-11-27", "follow_up_task": {}}
    assert_problem(
        manager.patch(f"{URL}{interaction.pk}/", patch, format="json"), 400, field="follow_up_task"
    )
    assert ok(manager.get(f"{API}/tasks/"))["results"] == []


def test_a_follow_up_task_that_fails_leaves_no_interaction(firm, other_firm, manager):
    body = {
        "type": "call",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": "Menu review",
        "organization": firm.customer.pk,
        "follow_up_on": "2026-11-27",
        "follow_up_task": {"assignee": other_firm.manager.pk},
    }
    assert_problem(manager.post(URL, body, format="json"), 400)
    assert ok(manager.get(URL))["results"] == []
