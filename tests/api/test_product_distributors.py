"""/product-distributors/: distributors' own item codes for a principal's products."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/product-distributors/"


@pytest.fixture
def product(firm):
    return f.ProductFactory(
        tenant=firm.tenant, principal=firm.principal_a, name="Crinkle Cut Fries", sku="FRY38"
    )


def test_create_retrieve_update_and_soft_delete(firm, manager, product):
    created = ok(
        manager.post(
            URL, {"product": product.pk, "distributor": firm.distributor.pk, "vendor_item_number": "SY-1"}
        ),
        201,
    )
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["vendor_item_number"] == "SY-1"
    assert ok(manager.patch(url, {"vendor_item_number": "SY-2"}))["vendor_item_number"] == "SY-2"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)


def test_filters_and_expand(firm, manager, product):
    other_distributor = f.DistributorFactory(tenant=firm.tenant)
    first = f.ProductDistributorFactory(
        tenant=firm.tenant, product=product, distributor=firm.distributor, vendor_item_number="US-77"
    )
    second = f.ProductDistributorFactory(tenant=firm.tenant, product=product, distributor=other_distributor)
    assert result_ids(manager, f"{URL}?distributor={other_distributor.pk}") == [second.pk]
    assert set(result_ids(manager, f"{URL}?product={product.pk}")) == {first.pk, second.pk}
    assert result_ids(manager, f"{URL}?vendor_item_number=us-77") == [first.pk]
    row = ok(manager.get(f"{URL}{first.pk}/?expand=product,distributor"))
    assert row["product"] == {
        "id": product.pk,
        "name": "Crinkle Cut Fries",
        "sku": "FRY38",
        "principal": firm.principal_a.pk,
    }
    assert row["distributor"]["name"] == firm.distributor.name


def test_duplicate_item_code_for_the_same_distributor_is_400(firm, manager, product):
    f.ProductDistributorFactory(tenant=firm.tenant, product=product, distributor=firm.distributor)
    response = manager.post(
        URL, {"product": product.pk, "distributor": firm.distributor.pk, "vendor_item_number": "X"}
    )
    assert_problem(response, 400, code="unique")


def test_distributor_that_is_not_a_distributor_is_400_naming_distributor(firm, manager, product):
    response = manager.post(URL, {"product": product.pk, "distributor": firm.customer.pk})
    assert_problem(response, 400, field="distributor")


def test_deleted_product_is_400_does_not_exist(firm, manager, product):
    manager.delete(f"{API}/products/{product.pk}/")
    response = manager.post(URL, {"product": product.pk, "distributor": firm.distributor.pk})
    assert_problem(response, 400, field="product", code="does_not_exist")
