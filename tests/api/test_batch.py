"""Batch writes (`POST <resource>/batch/`, crm/api/batch.py, ADR 0020): each operation as its own request
would be, all or nothing by default, every failing operation named by its place and field, If-Match per
operation, row level security per operation, idempotent like any POST, and statements that grow by one per
operation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contacts.models import Contact
from crm import idempotency
from crm.api.batch import MAX_OPERATIONS
from crm.models import HistoryEntry
from interactions.models import Interaction
from opportunities.models import Opportunity
from organizations.models import Organization
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

ROOT = Path(__file__).resolve().parents[2]


def batch(client: APIClient, resource: str, operations: list[dict[str, Any]], **options: Any) -> Any:
    return client.post(f"{API}/{resource}/batch/", {"operations": operations, **options}, format="json")


def failed_problem(response: Any, count: int) -> dict[str, Any]:
    """The 422 of an atomic batch in which `count` operations failed."""
    problem = assert_problem(response, 422)
    assert problem["code"] == "batch_failed"
    assert problem["title"] == "Unprocessable Content"
    assert len(problem["failed"]) == count, problem
    return problem


def visit(firm: Firm, subject: str = "Menu review", **fields: Any) -> dict[str, Any]:
    return {
        "type": "site_visit",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": subject,
        "organization": firm.customer.pk,
        **fields,
    }


def history_count() -> int:
    return HistoryEntry.objects.count()


# --- each resource, each kind of operation ---------------------------------------------------------------


def _organization(firm: Firm, n: int) -> dict[str, Any]:
    return {"name": f"Harbor Grill {n}", "type": "customer", "city": "Portland"}


def _contact(firm: Firm, n: int) -> dict[str, Any]:
    return {"organization": firm.customer.pk, "first_name": "Maria", "last_name": f"Lopez {n}"}


def _interaction(firm: Firm, n: int) -> dict[str, Any]:
    return visit(firm, f"Visit {n}")


def _opportunity(firm: Firm, n: int) -> dict[str, Any]:
    return {"name": f"Fries {n}", "principal": firm.principal_a.pk, "customer": firm.customer.pk}


def _opportunity_product(firm: Firm, n: int) -> dict[str, Any]:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    return {"opportunity": opportunity.pk, "product": product.pk, "weekly_case_volume": 8.5}


def _opportunity_contact(firm: Firm, n: int) -> dict[str, Any]:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    return {"opportunity": opportunity.pk, "contact": contact.pk, "role": "decision_maker"}


def _task(firm: Firm, n: int) -> dict[str, Any]:
    return {"title": f"Call back {n}", "due_on": "2026-12-10", "organization": firm.customer.pk}


BODIES: dict[str, tuple[Callable[[Firm, int], dict[str, Any]], dict[str, Any]]] = {
    "organizations": (_organization, {"city": "Seattle"}),
    "contacts": (_contact, {"title": "Executive Chef"}),
    "interactions": (_interaction, {"notes": "Liked the fries."}),
    "opportunities": (_opportunity, {"next_action": "Drop samples"}),
    "opportunity-products": (_opportunity_product, {"notes": "Trial case"}),
    "opportunity-contacts": (_opportunity_contact, {"role": "influencer"}),
    "tasks": (_task, {"status": "done"}),
}


@pytest.mark.parametrize("resource", BODIES)
def test_creates_updates_and_deletes_answer_as_their_own_requests_would(firm, manager, resource):
    make, change = BODIES[resource]
    created = ok(batch(manager, resource, [{"op": "create", "data": make(firm, n)} for n in range(3)]))
    results = created["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    assert [r["index"] for r in results] == [0, 1, 2]
    for result in results:
        detail = manager.get(f"{API}/{resource}/{result['id']}/")
        assert result["data"] == ok(detail)  # the body a GET answers
        assert result["etag"] == detail["ETag"] == '"1"'
        assert result["location"] == f"http://testserver{API}/{resource}/{result['id']}/"
        assert result["problem"] is None
    first, second, third = (r["id"] for r in results)

    changed = ok(
        batch(
            manager,
            resource,
            [
                {"op": "update", "id": first, "if_match": '"1"', "data": change},
                {"op": "update", "id": second, "data": change},
                {"op": "delete", "id": third, "if_match": '"1"'},
            ],
        )
    )["results"]
    assert [(r["status"], r["id"], r["etag"]) for r in changed] == [
        (200, first, '"2"'),
        (200, second, '"2"'),
        (204, third, None),
    ]
    assert changed[0]["data"] == ok(manager.get(f"{API}/{resource}/{first}/"))
    assert all(changed[0]["data"][name] == value for name, value in change.items())
    assert changed[2]["data"] is None
    assert_problem(manager.get(f"{API}/{resource}/{third}/"), 404)  # soft-deleted, as DELETE does


def test_the_batch_answers_with_the_expansions_asked_for(firm, manager):
    body = ok(
        manager.post(
            f"{API}/contacts/batch/?expand=organization",
            {"operations": [{"op": "create", "data": _contact(firm, 1)}]},
            format="json",
        )
    )
    assert body["results"][0]["data"]["organization"]["name"] == firm.customer.name
    assert_problem(
        manager.post(
            f"{API}/contacts/batch/?expand=nothing",
            {"operations": [{"op": "create", "data": _contact(firm, 2)}]},
            format="json",
        ),
        400,
        field="expand",
    )
    assert not Contact.objects.filter(last_name="Lopez 2").exists()


# --- atomicity ------------------------------------------------------------------------------------------


def test_one_invalid_operation_writes_nothing_history_included(firm, manager):
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, subject="Before")
    interactions, entries = Interaction.objects.count(), history_count()
    response = batch(
        manager,
        "interactions",
        [
            {"op": "create", "data": visit(firm, "First")},
            {"op": "update", "id": interaction.pk, "data": {"subject": "After"}},
            {"op": "create", "data": visit(firm, "Third", type="séance")},
            {"op": "create", "data": visit(firm, "Fourth")},
        ],
    )
    problem = failed_problem(response, 1)
    assert problem["errors"] == [
        {
            "field": "operations.2.data.type",
            "code": "invalid_choice",
            "detail": '"séance" is not a valid choice.',
        }
    ]
    assert Interaction.objects.count() == interactions
    assert Interaction.objects.get(pk=interaction.pk).subject == "Before"
    assert history_count() == entries


def test_a_database_refusal_writes_nothing_and_every_other_failure_is_still_reported(firm, manager):
    """A unique name is the database's to refuse; the transaction is then aborted, and the batch runs again
    with a savepoint per operation so that the operations after it are still checked."""
    organizations, entries = Organization.objects.count(), history_count()
    response = batch(
        manager,
        "organizations",
        [
            {"op": "create", "data": {"name": "Harbor Grill", "type": "customer"}},
            {"op": "create", "data": {"name": firm.customer.name, "type": "customer"}},
            {"op": "create", "data": {"name": "", "type": "customer"}},
            {"op": "update", "id": firm.customer.pk, "data": {"priority": "Z"}},
            {"op": "create", "data": {"name": "HARBOR  grill", "type": "prospect"}},  # the first's name
        ],
    )
    problem = failed_problem(response, 4)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("operations.1.data.name", "unique"),
        ("operations.2.data.name", "blank"),
        ("operations.3.data.priority", "invalid_choice"),
        ("operations.4.data.name", "unique"),
    ]
    assert [(failure["index"], failure["status"]) for failure in problem["failed"]] == [
        (1, 400),
        (2, 400),
        (3, 400),
        (4, 400),
    ]
    assert Organization.objects.count() == organizations
    assert history_count() == entries


def test_every_failing_operation_is_named_by_its_place_and_field(firm, manager):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    response = batch(
        manager,
        "contacts",
        [
            {"op": "create", "data": {"organization": firm.customer.pk}},
            {"op": "create", "data": _contact(firm, 1)},
            {"op": "update", "id": contact.pk, "data": {"email": "not an email", "role": "boss"}},
            {"op": "delete", "id": 2**40},
        ],
    )
    problem = failed_problem(response, 3)
    assert sorted((e["field"], e["code"]) for e in problem["errors"]) == [
        ("operations.0.data.first_name", "required"),
        ("operations.2.data.email", "invalid"),
        ("operations.2.data.role", "invalid_choice"),
        ("operations.3.id", "not_found"),
    ]
    failures = {failure["index"]: failure for failure in problem["failed"]}
    assert failures[0]["title"] == "Invalid input" and failures[0]["status"] == 400
    assert failures[3]["status"] == 404 and failures[3]["code"] == "not_found"
    assert not Contact.objects.filter(last_name="Lopez 1").exists()


def test_without_atomic_each_operation_stands_alone(firm, manager):
    stale = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, subject="Stale")
    Interaction.objects.filter(pk=stale.pk).update(notes="moved on")  # version 2
    doomed = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, subject="Doomed")
    response = batch(
        manager,
        "interactions",
        [
            {"op": "create", "data": visit(firm, "Kept")},
            {"op": "create", "data": visit(firm, "Invalid", duration_minutes=-5)},
            {"op": "update", "id": stale.pk, "if_match": '"1"', "data": {"subject": "Lost"}},
            {"op": "delete", "id": doomed.pk},
        ],
        atomic=False,
    )
    results = ok(response)["results"]
    assert [r["status"] for r in results] == [201, 400, 412, 204]
    assert all(r["id"] is None and r["data"] is None and r["etag"] is None for r in results[1:3])
    assert results[1]["problem"]["errors"] == [
        {
            "field": "operations.1.data.duration_minutes",
            "code": "min_value",
            "detail": "Ensure this value is greater than or equal to 0.",
        }
    ]
    assert results[2]["problem"]["current_version"] == 2
    assert results[2]["problem"]["errors"][0]["field"] == "operations.2.if_match"
    assert Interaction.objects.get(pk=results[0]["id"]).subject == "Kept"
    assert not Interaction.objects.filter(subject="Invalid").exists()
    assert Interaction.objects.get(pk=stale.pk).subject == "Stale"
    assert Interaction.objects.get(pk=doomed.pk).deleted_at is not None


def test_without_atomic_a_database_refusal_rolls_back_only_its_own_operation(firm, manager):
    results = ok(
        batch(
            manager,
            "organizations",
            [
                {"op": "create", "data": {"name": firm.customer.name, "type": "customer"}},
                {"op": "create", "data": {"name": "Harbor Grill", "type": "customer"}},
            ],
            atomic=False,
        )
    )["results"]
    assert [r["status"] for r in results] == [400, 201]
    assert results[0]["problem"]["errors"][0] == {
        "field": "operations.0.data.name",
        "code": "unique",
        "detail": results[0]["problem"]["detail"],
    }
    assert Organization.objects.filter(name="Harbor Grill").count() == 1


def test_a_delete_refused_for_live_dependents_is_a_409_of_its_operation(firm, manager):
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    problem = failed_problem(batch(manager, "organizations", [{"op": "delete", "id": firm.customer.pk}]), 1)
    assert problem["failed"][0]["status"] == 409
    assert problem["failed"][0]["dependents"] == {"contacts": 1}
    assert problem["errors"][0]["field"] == "operations.0"
    assert Organization.objects.get(pk=firm.customer.pk).deleted_at is None


# --- history ----------------------------------------------------------------------------------------------


def test_each_operation_records_its_history_naming_the_actor_and_the_request(firm, manager):
    existing = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    response = manager.post(
        f"{API}/interactions/batch/",
        {
            "operations": [
                {"op": "create", "data": visit(firm, "One")},
                {"op": "create", "data": visit(firm, "Two")},
                {"op": "update", "id": existing.pk, "data": {"subject": "Three"}},
            ]
        },
        format="json",
        HTTP_X_REQUEST_ID="batch-history-1",
    )
    results = ok(response)["results"]
    entries = HistoryEntry.objects.filter(request_id="batch-history-1").order_by("id")
    assert [(e.row_id, e.operation, e.actor_id) for e in entries] == [
        (results[0]["id"], "insert", firm.manager.pk),
        (results[1]["id"], "insert", firm.manager.pk),
        (existing.pk, "update", firm.manager.pk),
    ]
    assert entries[2].changes["subject"][1] == "Three"


def test_an_api_keys_batch_writes_as_its_member_and_history_names_the_key(firm, admin):
    created = ok(
        admin.post(
            f"{API}/api-keys/",
            {"name": "Field app", "role": "manager", "book": [firm.principal_a.pk]},
            format="json",
        ),
        201,
    )
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    opportunity_b = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer
    )
    results = ok(
        batch(
            key,
            "interactions",
            [{"op": "create", "data": visit(firm, "From the field")}, {"op": "create", "data": visit(firm)}],
        )
    )["results"]
    entries = HistoryEntry.objects.filter(table_name="interaction", row_id__in=[r["id"] for r in results])
    assert {entry.actor_id for entry in entries} == {created["user"]}
    assert [r["data"]["user"] for r in results] == [created["user"]] * 2  # logged by the key's member
    outside = batch(
        key, "interactions", [{"op": "create", "data": visit(firm, opportunity=opportunity_b.pk)}]
    )
    assert failed_problem(outside, 1)["errors"][0]["code"] == "does_not_exist"  # outside the key's book


# --- If-Match -------------------------------------------------------------------------------------------


def test_a_stale_if_match_refuses_its_operation_and_names_it(firm, manager):
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    current = ok(manager.patch(f"{API}/opportunities/{opportunity.pk}/", {"notes": "v2"}, format="json"))
    assert current["version"] == 2
    response = batch(
        manager,
        "opportunities",
        [
            {"op": "create", "data": _opportunity(firm, 1)},
            {"op": "update", "id": opportunity.pk, "if_match": '"1"', "data": {"notes": "v3"}},
        ],
    )
    problem = failed_problem(response, 1)
    failure = problem["failed"][0]
    assert (failure["index"], failure["status"], failure["code"]) == (1, 412, "precondition_failed")
    assert failure["current_version"] == 2
    assert problem["errors"] == [
        {"field": "operations.1.if_match", "code": "precondition_failed", "detail": failure["detail"]}
    ]
    assert Opportunity.objects.get(pk=opportunity.pk).notes == "v2"
    assert not Opportunity.objects.filter(name="Fries 1").exists()


@pytest.mark.parametrize("if_match", ['"2"', "*", '"1", "2"', 'W/"2"'])
def test_a_current_if_match_lets_its_operation_through(firm, manager, if_match):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    Contact.objects.filter(pk=contact.pk).update(title="Chef")  # version 2
    results = ok(
        batch(manager, "contacts", [{"op": "update", "id": contact.pk, "if_match": if_match, "data": {}}])
    )["results"]
    assert results[0]["etag"] == '"3"'


def test_a_delete_with_a_stale_if_match_deletes_nothing(firm, manager):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    problem = failed_problem(
        batch(manager, "contacts", [{"op": "delete", "id": contact.pk, "if_match": '"7"'}]), 1
    )
    assert problem["failed"][0]["status"] == 412
    assert Contact.objects.get(pk=contact.pk).deleted_at is None


# --- row level security ------------------------------------------------------------------------------------


def test_another_firms_record_is_not_found_for_its_operation_like_a_missing_one(firm, other_firm, manager):
    theirs = f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    missing = theirs.pk + 10_000
    response = batch(
        manager,
        "contacts",
        [
            {"op": "update", "id": theirs.pk, "data": {"title": "Mine now"}},
            {"op": "update", "id": missing, "data": {"title": "Mine now"}},
            {"op": "delete", "id": other_firm.customer.pk},
        ],
    )
    problem = failed_problem(response, 3)
    first, second, third = problem["failed"]
    assert {key: value for key, value in first.items() if key not in ("index", "errors")} == {
        key: value for key, value in second.items() if key not in ("index", "errors")
    }
    assert first["status"] == 404 and third["status"] == 404
    assert "Rival" not in response.content.decode()
    assert Contact.objects.get(pk=theirs.pk).title != "Mine now"


def test_a_record_outside_the_book_is_not_found_and_a_hidden_reference_does_not_exist(firm, manager):
    theirs = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer)
    mine = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    response = batch(
        manager,
        "interactions",
        [
            {"op": "create", "data": visit(firm, "Probe", opportunity=theirs.pk)},
            {"op": "create", "data": visit(firm, "Fine", opportunity=mine.pk)},
        ],
    )
    problem = failed_problem(response, 1)
    assert problem["errors"][0]["field"] == "operations.0.data.opportunity"
    assert problem["errors"][0]["code"] == "does_not_exist"
    assert (
        failed_problem(batch(manager, "opportunities", [{"op": "delete", "id": theirs.pk}]), 1)["failed"][0][
            "status"
        ]
        == 404
    )
    assert Opportunity.objects.get(pk=theirs.pk).deleted_at is None


def test_a_viewer_may_not_send_a_batch(firm, viewer):
    assert_problem(batch(viewer, "interactions", [{"op": "create", "data": visit(firm)}]), 403)
    assert not Interaction.objects.exists()


def test_a_reference_deleted_earlier_in_the_batch_no_longer_exists_for_later_operations(firm, manager):
    boss = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    report = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    problem = failed_problem(
        batch(
            manager,
            "contacts",
            [
                {"op": "delete", "id": boss.pk},
                {"op": "update", "id": report.pk, "data": {"reports_to": boss.pk}},
            ],
        ),
        1,
    )
    assert (problem["errors"][0]["field"], problem["errors"][0]["code"]) == (
        "operations.1.data.reports_to",
        "does_not_exist",
    )


# --- the body ---------------------------------------------------------------------------------------------


def test_at_most_100_operations(firm, manager):
    operations = [{"op": "create", "data": visit(firm, f"Visit {n}")} for n in range(MAX_OPERATIONS + 1)]
    problem = assert_problem(
        batch(manager, "interactions", operations), 400, field="operations", code="max_length"
    )
    assert "at most 100 operations" in problem["errors"][0]["detail"]
    assert not Interaction.objects.exists()
    results = ok(batch(manager, "interactions", operations[:MAX_OPERATIONS]))["results"]
    assert len(results) == MAX_OPERATIONS == Interaction.objects.count()


def test_the_body_size_limit_still_applies(firm, manager, settings):
    settings.API_MAX_BODY_BYTES = 2_000
    operations = [{"op": "create", "data": visit(firm, f"Visit {n}")} for n in range(20)]
    assert_problem(batch(manager, "interactions", operations), 413)
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("operations", "field", "code"),
    [
        ([], "operations", "min_length"),
        ([{"op": "upsert", "data": {}}], "operations.0.op", "invalid_choice"),
        ([{"op": "create", "id": 5, "data": {}}], "operations.0.id", "not_allowed"),
        ([{"op": "create", "if_match": "*", "data": {}}], "operations.0.if_match", "not_allowed"),
        ([{"op": "create"}], "operations.0.data", "required"),
        ([{"op": "create", "data": []}], "operations.0.data", "not_a_dict"),
        ([{"op": "update", "data": {}}], "operations.0.id", "required"),
        ([{"op": "update", "id": 1}], "operations.0.data", "required"),
        ([{"op": "delete", "id": 1, "data": {}}], "operations.0.data", "not_allowed"),
        ([{"op": "delete", "id": "1"}], "operations.0.id", "invalid"),
        ([{"op": "delete", "id": 0}], "operations.0.id", "min_value"),
        ([{"op": "delete", "id": 1, "if_match": "3"}], "operations.0.if_match", "invalid"),
        ([{"op": "delete", "id": 1, "if_match": '"3"\n'}], "operations.0.if_match", "invalid"),
        ([{"op": "delete", "id": 1, "if-match": '"3"'}], "operations.0.if-match", "unknown"),
        ([{"op": "delete", "id": 1}, {"op": "delete", "id": 1}], "operations.1.id", "duplicate"),
    ],
)
def test_a_malformed_batch_is_a_400_naming_the_place(firm, manager, operations, field, code):
    assert_problem(batch(manager, "interactions", operations), 400, field=field, code=code)


def test_unknown_and_mistyped_top_level_keys_are_refused(firm, manager):
    operations = [{"op": "create", "data": visit(firm)}]
    assert_problem(
        batch(manager, "interactions", operations, atomc=False), 400, field="atomc", code="unknown"
    )
    assert_problem(batch(manager, "interactions", operations, atomic="no"), 400, field="atomic")
    assert_problem(manager.post(f"{API}/interactions/batch/", [], format="json"), 400)
    assert not Interaction.objects.exists()


def test_the_batch_address_takes_only_post(manager):
    response = manager.get(f"{API}/interactions/batch/")
    assert_problem(response, 405)
    assert "POST" in response["Allow"]


# --- retries --------------------------------------------------------------------------------------------


def test_a_batch_sent_again_with_its_idempotency_key_gets_the_first_answer_and_writes_nothing(firm, manager):
    operations = [{"op": "create", "data": visit(firm, f"Visit {n}")} for n in range(3)]
    body = {"operations": operations}
    first = manager.post(f"{API}/interactions/batch/", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    ok(first)
    entries = history_count()
    again = manager.post(f"{API}/interactions/batch/", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again.status_code == 200
    assert again.content == first.content
    assert again[idempotency.REPLAYED_HEADER] == "true"
    assert Interaction.objects.count() == 3
    assert history_count() == entries


def test_a_failed_batch_is_answered_again_too(firm, manager):
    body = {"operations": [{"op": "create", "data": visit(firm, type="séance")}]}
    first = manager.post(f"{API}/interactions/batch/", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-2")
    failed_problem(first, 1)
    again = manager.post(f"{API}/interactions/batch/", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-2")
    assert (again.status_code, again.content) == (422, first.content)
    assert again[idempotency.REPLAYED_HEADER] == "true"


# --- statements -------------------------------------------------------------------------------------------


def statements(client: APIClient, method: str, url: str, body: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code < 300, response.content
    return len(queries), response


def test_a_batch_runs_one_statement_per_operation_and_a_few_for_the_batch(firm, manager):
    """Creates: the INSERT each (its history written by the row's trigger); updates and deletes: the UPDATE
    each. The rows to change are read (and locked) in one query, each foreign key's rows in one, the rows
    written in one for the answer, whatever the batch's size."""
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    contacts = [f.ContactFactory(tenant=firm.tenant, organization=firm.customer) for _ in range(20)]

    def creates(n: int) -> list[dict[str, Any]]:
        return [
            {"op": "create", "data": visit(firm, f"V{i}", contact=contacts[i].pk, opportunity=opportunity.pk)}
            for i in range(n)
        ]

    single, _ = statements(manager, "post", f"{API}/interactions/", creates(1)[0]["data"])
    counts: dict[str, dict[int, int]] = {"create": {}, "update": {}, "delete": {}}
    for n in (1, 20):
        counts["create"][n], response = statements(
            manager, "post", f"{API}/interactions/batch/", {"operations": creates(n)}
        )
        ids = [result["id"] for result in response.json()["results"]]
        updates = [{"op": "update", "id": i, "if_match": '"1"', "data": {"notes": "n"}} for i in ids]
        counts["update"][n], _ = statements(
            manager, "post", f"{API}/interactions/batch/", {"operations": updates}
        )
        deletes = [{"op": "delete", "id": i, "if_match": '"2"'} for i in ids]
        counts["delete"][n], _ = statements(
            manager, "post", f"{API}/interactions/batch/", {"operations": deletes}
        )
    for op, by_size in counts.items():
        assert by_size[20] - by_size[1] == 19, (op, by_size)  # one statement per operation more
        assert by_size[1] <= single, (op, by_size, single)  # a batch of one costs no more than the request
    assert counts["create"][20] < 3 * single  # twenty creates for less than three single ones


def test_the_statements_of_an_organization_batch_grow_by_one_per_create(firm, admin):
    def creates(n: int, offset: int) -> dict[str, Any]:
        return {
            "operations": [
                {
                    "op": "create",
                    "data": {"name": f"Grill {offset + i}", "type": "customer", "parent": firm.customer.pk},
                }
                for i in range(n)
            ]
        }

    one, _ = statements(admin, "post", f"{API}/organizations/batch/", creates(1, 0))
    many, _ = statements(admin, "post", f"{API}/organizations/batch/", creates(30, 100))
    assert many - one == 29


# --- the committed schema describes the answers -------------------------------------------------------------


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_documented(response: Any, path: str) -> None:
    """`response`'s body is what the committed openapi.yaml says `POST path` answers with its status."""
    document = _as_json_schema(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
    answer = document["paths"][path]["post"]["responses"][str(response.status_code)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    [(media_type, content)] = answer["content"].items()
    assert response["Content-Type"] == media_type
    validator = jsonschema.Draft7Validator(
        {**document, **content["schema"]}, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(response.json())  # formats too: an email `oneOf` tells "" from an address by it


def test_the_answers_are_the_ones_the_committed_schema_documents(firm, manager):
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)  # a 409 for the principal's delete
    mixed = [
        {"op": "create", "data": _contact(firm, 1)},
        {"op": "create", "data": {"organization": firm.customer.pk}},
        {"op": "update", "id": contact.pk, "if_match": '"1"', "data": {"title": "Chef"}},
        {"op": "update", "id": contact.pk + 10_000, "data": {"title": "Chef"}},
        {"op": "delete", "id": contact.pk + 20_000, "if_match": '"9"'},
    ]
    answered = batch(manager, "contacts", mixed, atomic=False)
    assert [r["status"] for r in ok(answered)["results"]] == [201, 400, 200, 404, 404]
    assert_documented(answered, "/api/v1/contacts/batch/")
    stale = [{"op": "update", "id": contact.pk, "if_match": '"1"', "data": {"title": "Chef"}}]
    refused = batch(manager, "contacts", [*stale, *mixed[1:2]])
    failed_problem(refused, 2)
    assert_documented(refused, "/api/v1/contacts/batch/")
    dependents = batch(manager, "organizations", [{"op": "delete", "id": firm.principal_a.pk}])
    assert failed_problem(dependents, 1)["failed"][0]["status"] == 409
    assert_documented(dependents, "/api/v1/organizations/batch/")
