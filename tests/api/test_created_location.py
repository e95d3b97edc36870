"""Every create answers 201 with `Location`: the new record's absolute URL, which reads it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.support import API, RESOURCES, ok
from tests.conftest import Firm


def _opportunity(firm: Firm) -> Any:
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


# A create body for each resource, as the admin sends it.
BODIES: dict[str, Callable[[Firm], dict[str, Any]]] = {
    "organizations": lambda firm: {"name": "Harbor Test Bistro", "type": "prospect"},
    "contacts": lambda firm: {"organization": firm.customer.pk, "first_name": "Maria"},
    "products": lambda firm: {"principal": firm.principal_a.pk, "name": "Fries", "sku": "FRY38"},
    "opportunities": lambda firm: {
        "name": "Fries at Acme",
        "principal": firm.principal_a.pk,
        "customer": firm.customer.pk,
    },
    "interactions": lambda firm: {
        "type": "call",
        "occurred_at": "2026-11-02T15:00:00Z",
        "subject": "Menu review",
        "organization": firm.customer.pk,
    },
    "tasks": lambda firm: {"title": "Call back", "due_on": "2026-12-10"},
    "members": lambda firm: {"email": "new.member@example.com", "role": "viewer"},
    "principal-assignments": lambda firm: {"user": firm.manager.pk, "principal": firm.principal_b.pk},
    "distributor-authorizations": lambda firm: {
        "distributor": firm.distributor.pk,
        "principal": firm.principal_a.pk,
    },
    "customer-distributors": lambda firm: {"customer": firm.customer.pk, "distributor": firm.distributor.pk},
    "product-distributors": lambda firm: {
        "product": f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk,
        "distributor": firm.distributor.pk,
    },
    "opportunity-products": lambda firm: {
        "opportunity": _opportunity(firm).pk,
        "product": f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk,
    },
    "opportunity-contacts": lambda firm: {
        "opportunity": _opportunity(firm).pk,
        "contact": f.ContactFactory(tenant=firm.tenant, organization=firm.customer).pk,
    },
    "samples": lambda firm: {
        "interaction": f.SampleInteractionFactory(
            tenant=firm.tenant, principal=firm.principal_a, organization=firm.customer
        ).pk,
        "lines": [
            {"product": f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk, "quantity": "1"}
        ],
    },
}


def test_every_resource_has_a_create_body() -> None:
    assert set(BODIES) == {resource.name for resource in RESOURCES}


@pytest.mark.parametrize("resource", sorted(BODIES))
def test_a_create_answers_201_with_the_new_records_absolute_url(
    firm: Firm, admin: APIClient, resource: str
) -> None:
    response = admin.post(f"{API}/{resource}/", BODIES[resource](firm))
    created = ok(response, 201)
    assert response["Location"] == f"http://testserver{API}/{resource}/{created['id']}/"
    assert ok(admin.get(response["Location"])) == created


def test_the_location_follows_the_host_the_client_used(firm: Firm, admin: APIClient) -> None:
    response = admin.post(f"{API}/organizations/", BODIES["organizations"](firm), HTTP_HOST="localhost")
    assert response["Location"].startswith(f"http://localhost{API}/organizations/")


def test_the_schema_gives_every_201_a_location(db: Any) -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    created = [
        (path, operation["responses"]["201"])
        for path, item in paths.items()
        for operation in item.values()
        if "201" in operation.get("responses", {})
    ]
    # The resources above, api-keys/ (its create answers the key's secret once: tests/api/test_api_keys.py)
    # and webhooks/ (the endpoint's signing secret, likewise: tests/webhooks/test_endpoints_api.py), and the
    # sales app's aliases and mappings (tests/sales/test_api.py).
    assert sorted(path for path, _ in created) == sorted(
        f"{API}/{name}/" for name in [*BODIES, "api-keys", "webhooks", "sales/aliases", "sales/mappings"]
    )
    for path, response in created:
        assert response["headers"]["Location"] == {"$ref": "#/components/headers/Location"}, path
