"""History through the API: every insert, update, soft delete and restore of every audited table is one
entry (actor, request id, time, each changed field's old and new value), listed newest first and
paged by cursor at a fixed query count; the table itself only ever grows."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from crm.models import HistoryEntry
from tests import factories as f
from tests.api.support import API, count_queries, ok, walk
from tests.conftest import Firm
from tests.history.support import AUDITED, Audited, column, history
from tests.integrity.sql import run


@pytest.mark.parametrize("resource", AUDITED, ids=str)
def test_insert_update_delete_and_restore_are_recorded_with_actor_request_id_time_and_changes(
    firm: Firm, manager: APIClient, resource: Audited
) -> None:
    body = resource.create(firm)
    created = manager.post(resource.url, body, HTTP_X_REQUEST_ID=f"create-{resource.name}")
    record = ok(created, 201)
    url = f"{resource.url}{record['id']}/"
    field, new_value = resource.change
    old_value = record[field]
    updated = manager.patch(url, {field: new_value})  # no X-Request-ID: the server makes one up
    updated_record = ok(updated)
    deleted = manager.delete(url, HTTP_X_REQUEST_ID=f"delete-{resource.name}")
    assert deleted.status_code == 204
    restored = manager.post(f"{url}restore/")
    ok(restored)

    found = history(manager, resource.name, record["id"])

    assert [e["operation"] for e in found] == ["restore", "delete", "update", "insert"]
    assert {e["actor"] for e in found} == {firm.manager.pk}
    assert [e["request_id"] for e in found] == [
        restored["X-Request-ID"],
        "delete-" + resource.name,
        updated["X-Request-ID"],
        "create-" + resource.name,
    ]
    assert updated["X-Request-ID"] and updated["X-Request-ID"] != created["X-Request-ID"]
    restore, delete, update, insert = found
    assert update["changes"] == {field: [old_value, new_value]}
    assert update["occurred_at"] == updated_record["updated_at"]
    for name, value in body.items():
        if name != "occurred_at":
            assert insert["changes"][column(name, value)] == [None, value], name
    assert insert["occurred_at"] == record["created_at"]
    assert set(delete["changes"]) == {"deleted_at"} and delete["changes"]["deleted_at"][0] is None
    assert restore["changes"] == {"deleted_at": [delete["changes"]["deleted_at"][1], None]}
    assert [e["id"] for e in found] == sorted((e["id"] for e in found), reverse=True)


def test_a_client_sent_request_id_is_echoed_and_recorded_and_a_malformed_one_is_replaced(
    firm: Firm, manager: APIClient
) -> None:
    url = f"{API}/organizations/{firm.customer.pk}/"
    kept = manager.patch(url, {"notes": "one"}, HTTP_X_REQUEST_ID="trace:4bf92f35-77b3.01")
    replaced = manager.patch(url, {"notes": "two"}, HTTP_X_REQUEST_ID="not a token; DROP TABLE")

    assert kept["X-Request-ID"] == "trace:4bf92f35-77b3.01"
    assert replaced["X-Request-ID"] not in ("", "not a token; DROP TABLE")
    newest, older = history(manager, "organizations", firm.customer.pk)[:2]
    assert (newest["request_id"], older["request_id"]) == (replaced["X-Request-ID"], kept["X-Request-ID"])


def test_stage_change_is_one_update_entry_with_the_old_and_new_stage(firm: Firm, manager: APIClient) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    ok(manager.post(f"{API}/opportunities/{opportunity.pk}/change-stage/", {"stage": "demo_scheduled"}))

    newest, _insert = history(manager, "opportunities", opportunity.pk)

    assert newest["operation"] == "update" and newest["actor"] == firm.manager.pk
    assert newest["changes"]["stage"] == ["new_lead", "demo_scheduled"]


def test_an_update_that_changes_nothing_adds_no_entry(firm: Firm, manager: APIClient) -> None:
    url = f"{API}/organizations/{firm.customer.pk}/"
    ok(manager.patch(url, {"notes": "Same"}))
    before = len(history(manager, "organizations", firm.customer.pk))
    ok(manager.patch(url, {"notes": "Same"}))

    assert len(history(manager, "organizations", firm.customer.pk)) == before


def test_database_bookkeeping_is_not_reported_as_a_change(firm: Firm, manager: APIClient) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)
    ok(manager.patch(f"{API}/contacts/{contact.pk}/", {"title": "Sales lead"}))

    update, insert = history(manager, "contacts", contact.pk)

    assert update["changes"] == {"title": ["", "Sales lead"]}
    bookkeeping = {"id", "tenant_id", "version", "created_at", "created_by_id", "updated_at", "updated_by_id"}
    assert not (set(insert["changes"]) & (bookkeeping | {"search_vector", "scope_principal_id"}))


def test_history_pages_newest_first_by_cursor_without_gaps_or_duplicates(
    firm: Firm, manager: APIClient
) -> None:
    url = f"{API}/organizations/{firm.customer.pk}/"
    for n in range(8):
        ok(manager.patch(url, {"notes": f"Visit {n}"}))

    ids, pages = walk(manager, f"{url}history/?page_size=3")

    everything = [e["id"] for e in history(manager, "organizations", firm.customer.pk, "?page_size=200")]
    assert ids == everything and len(ids) == 9  # the insert (as the owner) and eight updates
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert [len(p["results"]) for p in pages] == [3, 3, 3]
    assert pages[0]["results"][0]["changes"] == {"notes": ["Visit 6", "Visit 7"]}


def test_history_query_count_does_not_grow_with_the_entries(firm: Firm, manager: APIClient) -> None:
    url = f"{API}/organizations/{firm.customer.pk}/"
    ok(manager.patch(url, {"notes": "first"}))
    few = count_queries(manager, f"{url}history/")
    for n in range(40):
        ok(manager.patch(url, {"notes": f"Visit {n}"}))
    many = count_queries(manager, f"{url}history/")
    second_page = ok(manager.get(f"{url}history/?page_size=10"))["next"]

    assert many == few
    assert count_queries(manager, second_page) == few
    assert few <= 6


def test_history_of_a_record_that_never_existed_is_404(firm: Firm, manager: APIClient) -> None:
    assert manager.get(f"{API}/contacts/987654321/history/").status_code == 404


FORGED_ENTRY = (
    "INSERT INTO history (tenant_id, table_name, row_id, operation, request_id, changes, viewers_see_shared)"
    " SELECT tenant_id, 'organization', id, 'update', 'forged', '{}', true FROM organization"
)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE history SET request_id = 'rewritten'", "DELETE FROM history", FORGED_ENTRY],
    ids=["update", "delete", "insert"],
)
def test_history_is_append_only_for_the_runtime_role(firm: Firm, statement: str) -> None:
    before = list(HistoryEntry.objects.values_list("id", "request_id"))

    with pytest.raises(DatabaseError) as refused:
        run(firm.admin, statement)

    assert refused.value.__cause__.sqlstate == "42501"  # insufficient privilege: the role only reads it
    assert list(HistoryEntry.objects.values_list("id", "request_id")) == before


@pytest.mark.parametrize("statement", ["UPDATE history SET request_id = 'rewritten'", "DELETE FROM history"])
def test_history_is_append_only_even_for_the_owner(firm: Firm, statement: str) -> None:
    before = list(HistoryEntry.objects.values_list("id", "request_id"))

    with pytest.raises(DatabaseError, match="Cannot update or delete rows from history"):
        run(None, statement)

    assert list(HistoryEntry.objects.values_list("id", "request_id")) == before


def test_history_cannot_be_forged_by_calling_its_writer_directly(firm: Firm, other_firm: Firm) -> None:
    """The writer function is executable by the runtime role (its triggers run as that role), but only
    a trigger may call it: a direct call could otherwise append entries to any firm's history."""
    before = list(HistoryEntry.objects.values_list("id", flat=True))
    forged = {"id": other_firm.customer.pk, "tenant_id": other_firm.tenant.pk}

    with pytest.raises(DatabaseError) as refused:
        run(
            firm.manager,
            "SELECT crm_history_write('UPDATE', 'organization', %s::jsonb || '{\"notes\": \"\"}',"
            ' %s::jsonb || \'{"notes": "forged"}\', NULL, true)',
            [json.dumps(forged), json.dumps(forged)],
        )

    assert refused.value.__cause__.sqlstate == "42501"
    assert list(HistoryEntry.objects.values_list("id", flat=True)) == before
