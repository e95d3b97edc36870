"""A filter that takes several values takes them repeated (`?type=a&type=b`) or as a comma list
(`?type=a,b`), as `expand` and `ordering` do; the answer, and the read's shape, are the same either way."""

from __future__ import annotations

from collections import Counter
from typing import Any

import django_filters
import pytest
from rest_framework.test import APIClient

from crm.api import reads
from crm.api.shapes import ShapeCache
from interactions.filters import InteractionFilter
from opportunities.filters import OpportunityFilter
from organizations.filters import OrganizationFilter
from products.filters import ProductFilter
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

FILTERSETS = {
    "organizations": OrganizationFilter,
    "products": ProductFilter,
    "opportunities": OpportunityFilter,
    "interactions": InteractionFilter,
}
# Every multiple-value filter of every list: (resource, parameter, its first two choices).
MULTIPLE = [
    (resource, name, [str(value) for value, _ in spec.extra["choices"]][:2])
    for resource, filterset in FILTERSETS.items()
    for name, spec in filterset.base_filters.items()
    if isinstance(spec, django_filters.MultipleChoiceFilter)
]


def test_every_list_with_a_multiple_value_filter_is_covered() -> None:
    from contacts.filters import ContactFilter

    # contacts' `role` is the one left out above: checked on its own below.
    assert [
        n for n, s in ContactFilter.base_filters.items() if isinstance(s, django_filters.MultipleChoiceFilter)
    ] == ["role"]
    assert len(MULTIPLE) == 10


@pytest.fixture
def rows(firm: Firm) -> None:
    t = firm.tenant
    for kind in ("customer", "prospect", "distributor"):
        f.OrganizationFactory(tenant=t, type=kind)
    f.ProductFactory(tenant=t, principal=firm.principal_a, category="frozen", status="active")
    f.ProductFactory(tenant=t, principal=firm.principal_a, category="dry_goods", status="discontinued")
    for stage in ("new_lead", "initial_outreach", "feedback_logged"):
        f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer, stage=stage)
    for kind in ("call", "email", "site_visit"):
        f.InteractionFactory(tenant=t, organization=firm.customer, principal=firm.principal_a, type=kind)


def ids(client: APIClient, url: str) -> list[int]:
    return [row["id"] for row in ok(client.get(url))["results"]]


@pytest.mark.parametrize(("resource", "name", "values"), MULTIPLE, ids=[f"{r}-{n}" for r, n, _ in MULTIPLE])
def test_a_comma_list_filters_as_the_repeated_parameter_does(
    admin: APIClient, rows: None, resource: str, name: str, values: list[str]
) -> None:
    url = f"{API}/{resource}/?page_size=200&"
    repeated = ids(admin, f"{url}{name}={values[0]}&{name}={values[1]}")
    assert ids(admin, f"{url}{name}={values[0]},{values[1]}") == repeated
    assert ids(admin, f"{url}{name}={values[0]},%20{values[1]}") == repeated  # spaces around an item go
    assert ids(admin, f"{url}{name}={values[1]},{values[0]}") == repeated
    alone = ids(admin, f"{url}{name}={values[0]}")
    assert set(alone) <= set(repeated)


def test_commas_and_repeats_mix(admin: APIClient, rows: None) -> None:
    url = f"{API}/organizations/?page_size=200"
    everything = ids(admin, f"{url}&type=customer&type=prospect&type=distributor")
    assert ids(admin, f"{url}&type=customer,prospect&type=distributor") == everything
    assert {row["type"] for row in ok(admin.get(f"{url}&type=customer,prospect"))["results"]} == {
        "customer",
        "prospect",
    }


def test_contacts_role_takes_a_comma_list(firm: Firm, admin: APIClient) -> None:
    buyer = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, role="buyer")
    end_user = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, role="end_user")
    assert set(ids(admin, f"{API}/contacts/?role=buyer,end_user")) >= {buyer.pk, end_user.pk}


@pytest.mark.parametrize(
    "query", ["type=customer,", "type=,customer", "type=customer,nope", "type=customer;prospect"]
)
def test_an_empty_or_unknown_item_in_a_comma_list_is_a_400_naming_the_filter(
    admin: APIClient, query: str
) -> None:
    assert_problem(admin.get(f"{API}/organizations/?{query}"), 400, field="type", code="invalid_choice")


def test_a_single_value_filter_takes_no_comma_list(firm: Firm, admin: APIClient) -> None:
    query = f"principal={firm.principal_a.pk},{firm.principal_b.pk}"
    assert_problem(admin.get(f"{API}/opportunities/?{query}"), 400, field="principal")


def test_a_comma_list_and_the_repeated_parameter_share_one_shape(
    admin: APIClient, rows: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reads, "shapes", ShapeCache())
    seen: Counter[str] = Counter()
    read_rows = reads.read_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        found, strategy = read_rows(*args, **kwargs)
        seen[strategy.sql] += 1
        return found, strategy

    monkeypatch.setattr(reads, "read_rows", spy)
    for _ in range(3):  # a shape is kept once two rounds of probes agree (ADR 0013)
        ok(admin.get(f"{API}/organizations/?type=customer&type=prospect"))
    seen.clear()
    ok(admin.get(f"{API}/organizations/?type=customer,prospect"))
    assert seen == {"shape": 1}
