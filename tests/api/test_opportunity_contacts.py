"""/opportunity-contacts/: the people involved in an opportunity and their role in it."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/opportunity-contacts/"


@pytest.fixture
def opportunity(firm):
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


@pytest.fixture
def chef(firm):
    return f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name="Ravi")


def test_create_retrieve_update_and_soft_delete(firm, manager, opportunity, chef):
    created = ok(
        manager.post(URL, {"opportunity": opportunity.pk, "contact": chef.pk, "role": "decision_maker"}), 201
    )
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["role"] == "decision_maker"
    assert ok(manager.patch(url, {"role": "champion"}))["role"] == "champion"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)


def test_role_defaults_to_other(manager, opportunity, chef):
    assert ok(manager.post(URL, {"opportunity": opportunity.pk, "contact": chef.pk}), 201)["role"] == "other"


def test_same_contact_twice_is_400(firm, manager, opportunity, chef):
    f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity, contact=chef)
    assert_problem(manager.post(URL, {"opportunity": opportunity.pk, "contact": chef.pk}), 400, code="unique")


def test_unknown_role_is_400(manager, opportunity, chef):
    body = {"opportunity": opportunity.pk, "contact": chef.pk, "role": "boss"}
    assert_problem(manager.post(URL, body), 400, field="role", code="invalid_choice")


def test_deleted_contact_is_400_does_not_exist(manager, opportunity, chef):
    manager.delete(f"{API}/contacts/{chef.pk}/")
    response = manager.post(URL, {"opportunity": opportunity.pk, "contact": chef.pk})
    assert_problem(response, 400, field="contact", code="does_not_exist")


def test_filters_and_expand(firm, manager, opportunity, chef):
    buyer = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name="Dana")
    a = f.OpportunityContactFactory(
        tenant=firm.tenant, opportunity=opportunity, contact=chef, role="champion"
    )
    b = f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity, contact=buyer, role="buyer")
    assert set(result_ids(manager, f"{URL}?opportunity={opportunity.pk}")) == {a.pk, b.pk}
    assert result_ids(manager, f"{URL}?contact={buyer.pk}") == [b.pk]
    row = ok(manager.get(f"{URL}{a.pk}/?expand=opportunity,contact"))
    assert row["contact"]["first_name"] == "Ravi" and row["contact"]["organization"] == firm.customer.pk
    assert row["opportunity"]["name"] == opportunity.name
