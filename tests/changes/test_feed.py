"""The change feed (GET /api/v1/changes/, ADR 0026): every change the caller may see, oldest first, with
tombstones for deletions; a bad cursor is a 400; the same RLS as each record's history."""

from __future__ import annotations

import datetime as dt
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from changes.positions import Position
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for

# The feed serves a transaction's changes once it has finished: each test's writes must commit.
pytestmark = pytest.mark.django_db(transaction=True)

FEED = f"{API}/changes/"


def read_all(client: APIClient, after: str | None = None, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Every change ready now, following `has_more`; and the cursor to read on from."""
    changes: list[dict[str, Any]] = []
    while True:
        query = {**params, **({"after": after} if after is not None else {})}
        body = ok(client.get(FEED, query))
        changes += body["results"]
        after = body["next"]
        if not body["has_more"]:
            return changes, after


def test_creates_updates_deletes_and_restores_come_oldest_first_with_their_fields(firm: Firm) -> None:
    admin = client_for(firm.admin)
    _, start = read_all(admin)
    created = ok(admin.post(f"{API}/organizations/", {"name": "Harbor Grill", "type": "customer"}), 201)
    url = f"{API}/organizations/{created['id']}/"
    ok(admin.patch(url, {"notes": "Opens at six"}))
    assert admin.delete(url).status_code == 204
    ok(admin.post(f"{url}restore/"))

    changes, _ = read_all(admin, start)

    assert [(c["resource"], c["record_id"], c["action"]) for c in changes] == [
        ("organizations", created["id"], "create"),
        ("organizations", created["id"], "update"),
        ("organizations", created["id"], "delete"),
        ("organizations", created["id"], "restore"),
    ]
    assert changes[0]["changes"]["name"] == [None, "Harbor Grill"]
    assert changes[1]["changes"] == {"notes": ["", "Opens at six"]}
    assert [c["tombstone"] for c in changes] == [False, False, True, False]
    assert all(c["actor"] == firm.admin.pk and c["request_id"] for c in changes)


def test_reading_on_from_next_gives_nothing_twice_and_nothing_new_keeps_the_cursor(firm: Firm) -> None:
    admin = client_for(firm.admin)
    first, cursor = read_all(admin, limit=2)
    assert len(first) > 2  # the firm's set-up made several; read two at a time
    assert len({c["id"] for c in first}) == len(first)
    body = ok(admin.get(FEED, {"after": cursor}))
    assert body == {"results": [], "next": cursor, "has_more": False}
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    # A transaction of this database still open elsewhere (a previous test's server or worker ending) holds
    # the new entry back for a moment: the feed may be late, never wrong.
    deadline = time.monotonic() + 10
    later, _ = read_all(admin, cursor)
    while not later and time.monotonic() < deadline:
        time.sleep(0.2)
        later, _ = read_all(admin, cursor)
    assert [c["resource"] for c in later] == ["contacts"]


def test_a_purge_is_a_tombstone_with_only_the_id_and_resource(firm: Firm) -> None:
    admin = client_for(firm.admin)
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    assert admin.delete(f"{API}/contacts/{contact.pk}/").status_code == 204
    _, cursor = read_all(admin)
    # Soft-deleted long enough ago for the purge command to take it.
    with connection.cursor() as cursor_:
        cursor_.execute(
            "UPDATE contact SET deleted_at = %s WHERE id = %s",
            [timezone.now() - dt.timedelta(days=400), contact.pk],
        )
    call_command("purge", "--tenant", str(firm.tenant.pk), "--older-than", "30", stdout=StringIO())

    changes, _ = read_all(admin, cursor, resource="contacts")

    assert [(c["record_id"], c["action"], c["tombstone"], c["changes"]) for c in changes][-1] == (
        contact.pk,
        "purge",
        True,
        {},
    )


def test_resource_narrows_the_feed_and_an_unknown_one_is_a_400(firm: Firm) -> None:
    admin = client_for(firm.admin)
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    changes, _ = read_all(admin, resource="contacts,products")
    assert changes and {c["resource"] for c in changes} <= {"contacts", "products"}
    assert_problem(admin.get(FEED, {"resource": "contacts,members"}), 400, field="resource")


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "WyIwIiwgMF0", Position(5, 7).cursor()[:-3] + "abc", "a" * 500],
    ids=["garbage", "unsigned", "tampered", "long"],
)
def test_a_cursor_the_feed_did_not_issue_is_a_400_problem(firm: Firm, cursor: str) -> None:
    assert_problem(client_for(firm.admin).get(FEED, {"after": cursor}), 400, field="after")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"since": "1"}])
def test_bad_parameters_are_400_problems(firm: Firm, params: dict[str, str]) -> None:
    assert_problem(client_for(firm.admin).get(FEED, params), 400, field=next(iter(params)))


def test_nobody_and_non_members_get_nothing(firm: Firm) -> None:
    assert client_for(None).get(FEED).status_code == 401
    assert client_for(f.UserFactory()).get(FEED).status_code in (401, 403)  # no firm: as on every list


def test_each_member_sees_the_changes_of_the_rows_they_may_see(firm: Firm, other_firm: Firm) -> None:
    in_a = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    in_b = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    rival = f.ProductFactory(tenant=other_firm.tenant, principal=other_firm.principal_a)

    def seen(user: Any) -> set[tuple[str, int]]:
        return {(c["resource"], c["record_id"]) for c in read_all(client_for(user))[0]}

    admin, manager, viewer = seen(firm.admin), seen(firm.manager), seen(firm.viewer)
    assert {("products", in_a.pk), ("products", in_b.pk), ("contacts", contact.pk)} <= admin
    assert ("products", rival.pk) not in admin
    assert ("products", in_a.pk) in manager and ("products", in_b.pk) not in manager
    assert ("contacts", contact.pk) in manager
    # Viewers see their book's rows and the shared rows meant for them (organizations), not contacts.
    assert ("products", in_a.pk) in viewer and ("products", in_b.pk) not in viewer
    assert ("contacts", contact.pk) not in viewer
    assert ("organizations", firm.customer.pk) in viewer
    assert ("products", rival.pk) in seen(other_firm.admin)
    assert not {("products", in_a.pk), ("contacts", contact.pk)} & seen(other_firm.admin)


def test_a_feed_page_is_read_in_a_fixed_number_of_queries(firm: Firm) -> None:
    admin = client_for(firm.admin)
    for _ in range(30):
        f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    counts = []
    for limit in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            ok(admin.get(FEED, {"limit": limit}))
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4, counts


def test_the_feed_is_read_from_the_primary_never_a_replica() -> None:
    from django.test import RequestFactory

    from crm.replicas import routable

    assert routable(RequestFactory().get(f"{API}/organizations/"))
    assert not routable(RequestFactory().get(FEED))
