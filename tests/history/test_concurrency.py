"""Optimistic concurrency: every record has a version (1 at insert, +1 per update, bumped by the
database whoever writes), served as a strong ETag; a write with a stale If-Match is a 412 that writes
nothing, and of two clients racing with the same If-Match exactly one wins."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.client import Client
from rest_framework.test import APIClient

from crm import rls
from opportunities.models import Opportunity
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for
from tests.history.support import AUDITED, Audited, entries, etag
from tests.integrity.sql import value


@pytest.mark.parametrize("resource", AUDITED, ids=str)
def test_version_starts_at_1_goes_up_by_1_per_update_and_is_the_etag(
    firm: Firm, manager: APIClient, resource: Audited
) -> None:
    created = manager.post(resource.url, resource.create(firm))
    record = ok(created, 201)
    detail = f"{resource.url}{record['id']}/"
    field, new_value = resource.change

    assert record["version"] == 1 and created["ETag"] == etag(1)
    updated = manager.patch(detail, {field: new_value}, HTTP_IF_MATCH=etag(1))
    assert ok(updated)["version"] == 2 and updated["ETag"] == etag(2)
    fetched = manager.get(detail)
    assert ok(fetched)["version"] == 2 and fetched["ETag"] == etag(2)


def test_raw_sql_updates_bump_the_version_whatever_they_set(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    with rls.acting_as(firm.manager.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE contact SET title = 'Chef' WHERE id = %s", [contact.pk])
        cursor.execute("UPDATE contact SET title = 'Head chef', version = 1 WHERE id = %s", [contact.pk])
        cursor.execute("UPDATE contact SET version = 99 WHERE id = %s", [contact.pk])
    with transaction.atomic(), connection.cursor() as cursor:  # as the owner, outside RLS
        cursor.execute("UPDATE contact SET version = 0 WHERE id = %s", [contact.pk])

    assert value("contact", contact.pk, "version") == 5
    assert ok(client_for(firm.manager).get(f"{API}/contacts/{contact.pk}/"))["version"] == 5


def test_an_insert_starts_at_version_1_even_when_sql_says_otherwise(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contact (organization_id, first_name, last_name, title, role, email, phone, mobile,"
            " is_primary, notes, version) VALUES (%s, 'Rosa', '', '', 'other', '', '', '', false, '', 42)"
            " RETURNING id",
            [firm.customer.pk],
        )
        (contact_id,) = cursor.fetchone()

    assert value("contact", contact_id, "version") == 1


# Each write that honours If-Match, as a client sends it.
Write = Callable[[APIClient, str, Opportunity, dict[str, str]], Any]
WRITES: dict[str, Write] = {
    "PATCH": lambda c, url, o, h: c.patch(url, {"next_action": "Call the chef"}, **h),
    "PUT": lambda c, url, o, h: c.put(
        url, {"name": "Renamed", "principal": o.principal_id, "customer": o.customer_id}, **h
    ),
    "DELETE": lambda c, url, o, h: c.delete(url, **h),
    "restore": lambda c, url, o, h: c.post(f"{url}restore/", **h),
    "change-stage": lambda c, url, o, h: c.post(f"{url}change-stage/", {"stage": "demo_scheduled"}, **h),
}


def _write(name: str, client: APIClient, opportunity: Opportunity, if_match: str | None) -> Any:
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return WRITES[name](client, f"{API}/opportunities/{opportunity.pk}/", opportunity, headers)


def _opportunity(firm: Firm, *, deleted: bool) -> Opportunity:
    """An opportunity at version 2 (so an If-Match of "1" is stale), soft-deleted for restore."""
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    if deleted:
        Opportunity.objects.filter(pk=opportunity.pk).update(deleted_at="2026-01-01T00:00:00Z")
    else:
        Opportunity.objects.filter(pk=opportunity.pk).update(notes="Seen at the trade show")
    opportunity.refresh_from_db()
    assert opportunity.version == 2
    return opportunity


@pytest.mark.parametrize("write", WRITES)
def test_a_stale_if_match_is_412_with_the_current_version_and_writes_nothing(
    firm: Firm, manager: APIClient, write: str
) -> None:
    opportunity = _opportunity(firm, deleted=write == "restore")
    history_before = len(entries("opportunity", opportunity.pk))

    response = _write(write, manager, opportunity, etag(1))

    body = assert_problem(response, 412)
    assert body["current_version"] == 2 and response["ETag"] == etag(2)
    after = Opportunity.objects.get(pk=opportunity.pk)
    assert (after.version, after.stage, after.next_action, after.name) == (
        2,
        opportunity.stage,
        opportunity.next_action,
        opportunity.name,
    )
    assert (after.deleted_at is None) == (opportunity.deleted_at is None)
    assert len(entries("opportunity", opportunity.pk)) == history_before


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(
    "if_match", [etag(2), "*", None, f'"7", {etag(2)}'], ids=["current", "star", "absent", "list"]
)
def test_a_matching_star_or_absent_if_match_lets_the_write_through(
    firm: Firm, manager: APIClient, write: str, if_match: str | None
) -> None:
    opportunity = _opportunity(firm, deleted=write == "restore")

    response = _write(write, manager, opportunity, if_match)

    assert response.status_code in (200, 204), response.content
    assert Opportunity._base_manager.get(pk=opportunity.pk).version == 3


def test_if_match_on_a_row_of_a_principal_outside_the_book_is_404_not_412(firm: Firm) -> None:
    opportunity = _opportunity(firm, deleted=False)

    response = _write("PATCH", client_for(firm.other_manager), opportunity, etag(1))

    assert_problem(response, 404)


# ---------------------------------------------------------------------------------------------------
# The race, on two real connections.


def _wait_for_lock_waiters(cursor: Any, count: int, timeout: float = 10.0) -> None:
    """Until `count` other sessions of this database are blocked on a lock (they queued behind ours)."""
    deadline = time.monotonic() + timeout
    while True:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # the stats view is a snapshot per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        waiting = cursor.fetchone()[0]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {count} requests queued on the row lock"
        time.sleep(0.005)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", ["PATCH", "change-stage"])
def test_two_clients_racing_with_the_same_if_match_one_wins_and_the_other_gets_412(
    firm: Firm, write: str
) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    url = f"{API}/opportunities/{opportunity.pk}/"
    responses: dict[str, Any] = {}

    def request(name: str, user_client: Client) -> None:
        try:  # each thread has its own Django connection: a real second session
            if write == "PATCH":
                responses[name] = user_client.patch(url, {"next_action": name}, HTTP_IF_MATCH=etag(1))
            else:
                responses[name] = user_client.post(
                    f"{url}change-stage/", {"stage": name}, HTTP_IF_MATCH=etag(1)
                )
        finally:
            connection.close()

    racers = {
        "demo_scheduled": threading.Thread(target=request, args=("demo_scheduled", client_for(firm.manager))),
        "feedback_logged": threading.Thread(target=request, args=("feedback_logged", client_for(firm.admin))),
    }
    # Hold the row lock so both requests read version 1 into their If-Match check only after queueing on
    # it: the race happens every time, not by luck of scheduling.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM opportunity WHERE id = %s FOR UPDATE", [opportunity.pk])
        for racer in racers.values():
            racer.start()
        _wait_for_lock_waiters(cursor, 2)
    for racer in racers.values():
        racer.join(timeout=30)
        assert not racer.is_alive()

    statuses = sorted(r.status_code for r in responses.values())
    assert statuses == [200, 412], {k: r.content for k, r in responses.items()}
    (winner,) = [name for name, r in responses.items() if r.status_code == 200]
    (loser,) = [r for r in responses.values() if r.status_code == 412]
    assert loser.json()["current_version"] == 2 and loser["ETag"] == etag(2)
    after = Opportunity.objects.get(pk=opportunity.pk)
    assert after.version == 2
    assert (after.next_action if write == "PATCH" else after.stage) == winner
    assert [e.operation for e in entries("opportunity", opportunity.pk)] == ["update", "insert"]
