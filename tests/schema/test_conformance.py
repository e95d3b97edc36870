"""The server parses what the schema promises, and answers with what it documents.

Where the schema types a parameter (an integer id, a boolean `cascade`, comma-separated `expand` and
`ordering`) a value of another type is a 400, and a header it documents (`ETag`, `X-Request-ID`) is sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(firm: Firm) -> Any:
    return client_for(firm.manager)


@pytest.mark.parametrize("value", ["1.5", "abc", ""])
def test_an_id_filter_that_is_not_a_whole_number_is_a_400(firm: Firm, manager: Any, value: str) -> None:
    response = manager.get(f"{API}/opportunities/", {"principal": value})
    if value == "":
        ok(response)  # an empty filter is no filter
    else:
        assert_problem(response, 400, field="principal")


def test_an_id_filter_beyond_any_id_matches_nothing(firm: Firm, manager: Any) -> None:
    assert ok(manager.get(f"{API}/opportunities/", {"principal": "9" * 30}))["results"] == []


def test_cascade_takes_a_boolean_and_refuses_anything_else(firm: Firm, manager: Any) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    assert_problem(manager.delete(f"{API}/contacts/{contact.pk}/?cascade=maybe"), 400, field="cascade")
    assert manager.delete(f"{API}/contacts/{contact.pk}/?cascade=FALSE").status_code == 204


def test_expand_and_ordering_are_comma_separated(firm: Firm, manager: Any) -> None:
    parent = f.CustomerFactory(tenant=firm.tenant, name="Chain HQ")
    f.CustomerFactory(tenant=firm.tenant, name="Chain unit", parent=parent, account_manager=firm.manager)
    body = ok(
        manager.get(
            f"{API}/organizations/",
            {"parent": parent.pk, "expand": "parent,account_manager", "ordering": "-name,id"},
        )
    )
    [row] = body["results"]
    assert row["parent"] == {"id": parent.pk, "name": "Chain HQ", "type": "customer"}
    assert set(row["account_manager"]) == {"id", "email", "first_name", "last_name"}


def test_single_records_carry_their_etag_and_lists_do_not(firm: Firm, manager: Any) -> None:
    created = manager.post(f"{API}/organizations/", {"name": "Etag Diner", "type": "customer"})
    assert created.status_code == 201
    assert created["ETag"] == f'"{created.json()["version"]}"'
    url = f"{API}/organizations/{created.json()['id']}/"
    read = manager.get(url)
    changed = manager.patch(url, {"city": "Salem"}, HTTP_IF_MATCH=read["ETag"])
    assert changed["ETag"] == f'"{changed.json()["version"]}"' != read["ETag"]
    listing = manager.get(f"{API}/organizations/")
    assert "ETag" not in listing
    for response in (created, read, changed, listing):
        assert response["X-Request-ID"]


def test_sign_in_errors_are_problems(firm: Firm) -> None:
    client = client_for(None)
    assert_problem(client.post(f"{API}/auth/token/", {"email": firm.manager.email}), 400, field="password")
    refused = client.post(f"{API}/auth/token/", {"email": firm.manager.email, "password": "wrong"})
    assert_problem(refused, 401)
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.post(f"{API}/auth/token/refresh/", {"refresh": "not-a-token"}), 401)
