"""/opportunity-products/: the principal's products being placed in an opportunity."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/opportunity-products/"


@pytest.fixture
def opportunity(firm):
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


@pytest.fixture
def fries(firm):
    return f.ProductFactory(
        tenant=firm.tenant, principal=firm.principal_a, name="Crinkle Cut Fries", sku="FRY38"
    )


def test_create_retrieve_update_and_soft_delete(firm, manager, opportunity, fries):
    created = ok(
        manager.post(URL, {"opportunity": opportunity.pk, "product": fries.pk, "weekly_case_volume": "8"}),
        201,
    )
    assert created["weekly_case_volume"] == "8.00"
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["product"] == fries.pk
    assert ok(manager.patch(url, {"notes": "Start with 2 stores"}))["notes"] == "Start with 2 stores"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)
    # Deleted, so the product may be added again.
    ok(manager.post(URL, {"opportunity": opportunity.pk, "product": fries.pk}), 201)


def test_product_of_another_principal_is_400_naming_product(firm, admin, opportunity):
    other = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    response = admin.post(URL, {"opportunity": opportunity.pk, "product": other.pk})
    assert_problem(response, 400, field="product")
    assert result_ids(admin, f"{URL}?opportunity={opportunity.pk}") == []


def test_same_product_twice_is_400(firm, manager, opportunity, fries):
    f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity, product=fries)
    assert_problem(
        manager.post(URL, {"opportunity": opportunity.pk, "product": fries.pk}), 400, code="unique"
    )


def test_negative_volume_is_400(manager, opportunity, fries):
    body = {"opportunity": opportunity.pk, "product": fries.pk, "weekly_case_volume": "-1"}
    assert_problem(manager.post(URL, body), 400, field="weekly_case_volume")


def test_filters_and_expand(firm, manager, opportunity, fries):
    ketchup = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, name="Ketchup")
    other_opportunity = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer
    )
    a = f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity, product=fries)
    b = f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity, product=ketchup)
    c = f.OpportunityProductFactory(tenant=firm.tenant, opportunity=other_opportunity, product=fries)
    assert set(result_ids(manager, f"{URL}?opportunity={opportunity.pk}")) == {a.pk, b.pk}
    assert set(result_ids(manager, f"{URL}?product={fries.pk}")) == {a.pk, c.pk}
    row = ok(manager.get(f"{URL}{a.pk}/?expand=opportunity,product"))
    assert (
        row["opportunity"]["id"] == opportunity.pk and row["opportunity"]["principal"] == firm.principal_a.pk
    )
    assert row["product"]["sku"] == "FRY38"
