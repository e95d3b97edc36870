"""/products/: CRUD with soft delete, filters, prefix search on names and SKUs, ordering, expansion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/products/"


@pytest.fixture
def catalog(firm):
    a = firm.principal_a
    return {
        "fries": f.ProductFactory(
            tenant=firm.tenant, principal=a, name="Crinkle Cut Fries", sku="FRY38", category="frozen",
            list_price=Decimal("31.00"),
        ),
        "ketchup": f.ProductFactory(
            tenant=firm.tenant, principal=a, name="Fancy Ketchup", sku="KET1000", category="condiments",
            status="seasonal", list_price=Decimal("12.50"),
        ),
        "milk": f.ProductFactory(
            tenant=firm.tenant, principal=a, name="Oat Milk", sku="OAT64", category="dairy", status="discontinued",
            list_price=None,
        ),
    }  # fmt: skip


def test_create_retrieve_update_and_soft_delete_a_product(firm, manager):
    created = ok(
        manager.post(
            URL,
            {
                "principal": firm.principal_a.pk,
                "name": "Waffle Fries",
                "sku": "WAF12",
                "category": "frozen",
                "pack_size": "6/5 lb",
                "unit_of_measure": "case",
                "list_price": "28.75",
            },
        ),
        201,
    )
    assert created["list_price"] == "28.75" and created["status"] == "active"
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["sku"] == "WAF12"
    patched = ok(manager.patch(url, {"status": "coming_soon", "list_price": "0"}))
    assert patched["status"] == "coming_soon" and patched["list_price"] == "0.00"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)


def test_sku_of_a_deleted_product_can_be_reused(firm, manager, catalog):
    manager.delete(f"{URL}{catalog['fries'].pk}/")
    ok(manager.post(URL, {"principal": firm.principal_a.pk, "name": "New fries", "sku": "FRY38"}), 201)


def test_same_sku_for_another_principal_is_allowed(firm, admin, catalog):
    ok(admin.post(URL, {"principal": firm.principal_b.pk, "name": "Other fries", "sku": "FRY38"}), 201)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=frozen", {"fries"}),
        ("category=frozen&category=dairy", {"fries", "milk"}),
        ("status=seasonal&status=discontinued", {"ketchup", "milk"}),
        ("sku=fry38", {"fries"}),
        ("min_price=20", {"fries"}),
        ("max_price=20", {"ketchup"}),
    ],
)
def test_filters_narrow_the_list(manager, catalog, query, expected):
    assert set(result_ids(manager, f"{URL}?{query}")) == {catalog[n].pk for n in expected}


def test_filter_by_principal(firm, admin, catalog):
    other = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    assert result_ids(admin, f"{URL}?principal={firm.principal_b.pk}") == [other.pk]
    assert set(result_ids(admin, f"{URL}?principal={firm.principal_a.pk}")) == {
        p.pk for p in catalog.values()
    }


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("crink", {"fries"}),
        ("fancy ketch", {"ketchup"}),
        ("fry38", {"fries"}),  # whole SKU
        ("FRY", {"fries"}),  # SKU prefix
        ("ket1", {"ketchup"}),
        ("oat", {"milk"}),
        ("butter", set()),
    ],
)
def test_search_matches_prefixes_of_names_and_skus(manager, catalog, search, expected):
    assert set(result_ids(manager, f"{URL}?search={search}")) == {catalog[n].pk for n in expected}


@pytest.mark.parametrize("search", ["CHK-1001", "chk-1001", "CHK-10", "chk 1001", "1001"])
def test_search_by_a_hyphenated_sku_whole_or_in_part_finds_the_product(firm, manager, search):
    # Names without digits: the factory's "Product <n>" would match "10" whenever its counter is 10…
    chicken = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, sku="CHK-1001", name="Chicken")
    f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, sku="CHK-2002", name="Chicken Thighs")
    assert result_ids(manager, f"{URL}?search={search}") == [chicken.pk]


def test_search_by_a_whole_sku_with_leading_zeros_finds_the_product(firm, manager):
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, sku="SKU-00042")
    assert result_ids(manager, f"{URL}?search=SKU-00042") == [product.pk]


def test_ordering_by_sku_and_name(manager, catalog):
    skus = [p["sku"] for p in ok(manager.get(f"{URL}?ordering=sku"))["results"]]
    assert skus == ["FRY38", "KET1000", "OAT64"]
    names = [p["name"] for p in ok(manager.get(f"{URL}?ordering=-name"))["results"]]
    assert names == ["Oat Milk", "Fancy Ketchup", "Crinkle Cut Fries"]


def test_default_ordering_is_by_name(manager, catalog):
    names = [p["name"] for p in ok(manager.get(URL))["results"]]
    assert names == ["Crinkle Cut Fries", "Fancy Ketchup", "Oat Milk"]


def test_expand_embeds_the_principal(firm, manager, catalog):
    rows = ok(manager.get(f"{URL}?expand=principal"))["results"]
    assert {r["principal"]["id"] for r in rows} == {firm.principal_a.pk}
    assert rows[0]["principal"] == {
        "id": firm.principal_a.pk,
        "name": firm.principal_a.name,
        "type": "principal",
    }


def test_product_principal_cannot_change(firm, admin, catalog):
    response = admin.patch(f"{URL}{catalog['fries'].pk}/", {"principal": firm.principal_b.pk})
    assert_problem(response, 400, field="principal")
    assert ok(admin.get(f"{URL}{catalog['fries'].pk}/"))["principal"] == firm.principal_a.pk


def test_wrong_category_is_400_naming_the_field(firm, manager):
    body = {"principal": firm.principal_a.pk, "name": "X", "sku": "X1", "category": "vegetables"}
    assert_problem(manager.post(URL, body), 400, field="category", code="invalid_choice")


def test_list_price_that_is_not_a_number_is_400(firm, manager):
    body = {"principal": firm.principal_a.pk, "name": "X", "sku": "X1", "list_price": "cheap"}
    assert_problem(manager.post(URL, body), 400, field="list_price")
