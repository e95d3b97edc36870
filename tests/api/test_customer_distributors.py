"""/customer-distributors/: which distributors deliver to an operator, at most one primary each."""

from __future__ import annotations

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/customer-distributors/"


def test_create_retrieve_update_and_soft_delete(firm, manager):
    created = ok(manager.post(URL, {"customer": firm.customer.pk, "distributor": firm.distributor.pk}), 201)
    assert created["is_primary"] is False
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["customer"] == firm.customer.pk
    assert ok(manager.patch(url, {"is_primary": True}))["is_primary"] is True
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)


def test_prospects_may_have_distributors_too(firm, manager):
    prospect = f.OrganizationFactory(tenant=firm.tenant, type="prospect")
    ok(manager.post(URL, {"customer": prospect.pk, "distributor": firm.distributor.pk}), 201)


def test_second_primary_distributor_for_a_customer_is_400(firm, manager):
    second = f.DistributorFactory(tenant=firm.tenant)
    ok(
        manager.post(
            URL, {"customer": firm.customer.pk, "distributor": firm.distributor.pk, "is_primary": True}
        ),
        201,
    )
    response = manager.post(URL, {"customer": firm.customer.pk, "distributor": second.pk, "is_primary": True})
    body = assert_problem(response, 400, code="unique")
    assert body["errors"][0]["field"] is not None
    assert result_ids(manager, f"{URL}?distributor={second.pk}") == []


def test_promoting_a_second_primary_by_patch_is_400(firm, manager):
    second = f.DistributorFactory(tenant=firm.tenant)
    f.CustomerDistributorFactory(
        tenant=firm.tenant, customer=firm.customer, distributor=firm.distributor, is_primary=True
    )
    link = f.CustomerDistributorFactory(tenant=firm.tenant, customer=firm.customer, distributor=second)
    assert_problem(manager.patch(f"{URL}{link.pk}/", {"is_primary": True}), 400, code="unique")
    assert ok(manager.get(f"{URL}{link.pk}/"))["is_primary"] is False


def test_duplicate_pair_is_400(firm, manager):
    f.CustomerDistributorFactory(tenant=firm.tenant, customer=firm.customer, distributor=firm.distributor)
    response = manager.post(URL, {"customer": firm.customer.pk, "distributor": firm.distributor.pk})
    assert_problem(response, 400, code="unique")


def test_customer_that_is_a_distributor_is_400_naming_customer(firm, manager):
    response = manager.post(URL, {"customer": firm.distributor.pk, "distributor": firm.distributor.pk})
    assert_problem(response, 400, field="customer")


def test_distributor_that_is_a_customer_is_400_naming_distributor(firm, manager):
    response = manager.post(URL, {"customer": firm.customer.pk, "distributor": firm.customer.pk})
    assert_problem(response, 400, field="distributor")


def test_filters_and_expand(firm, manager):
    second = f.DistributorFactory(tenant=firm.tenant, name="Gulf Coast Foods")
    primary = f.CustomerDistributorFactory(
        tenant=firm.tenant, customer=firm.customer, distributor=firm.distributor, is_primary=True
    )
    backup = f.CustomerDistributorFactory(tenant=firm.tenant, customer=firm.customer, distributor=second)
    assert result_ids(manager, f"{URL}?is_primary=true") == [primary.pk]
    assert result_ids(manager, f"{URL}?distributor={second.pk}") == [backup.pk]
    assert set(result_ids(manager, f"{URL}?customer={firm.customer.pk}")) == {primary.pk, backup.pk}
    rows = ok(manager.get(f"{URL}?expand=customer,distributor&is_primary=false"))["results"]
    assert rows[0]["customer"]["name"] == firm.customer.name
    assert rows[0]["distributor"] == {"id": second.pk, "name": "Gulf Coast Foods", "type": "distributor"}
