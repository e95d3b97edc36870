"""Free text has a documented maximum: over it is a 400 naming the field, and the schema says maxLength."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

pytestmark = pytest.mark.django_db


def _opportunity(firm: Firm) -> Any:
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


# (resource, body builder, field, limit)
CASES: list[tuple[str, Any, str, int]] = [
    ("organizations", lambda firm: {"name": "Harbor Deli", "type": "customer"}, "notes", 10_000),
    ("contacts", lambda firm: {"organization": firm.customer.pk, "first_name": "Sam"}, "notes", 10_000),
    (
        "products",
        lambda firm: {"principal": firm.principal_a.pk, "name": "Fries", "sku": "FRY-38"},
        "description",
        10_000,
    ),
    (
        "opportunities",
        lambda firm: {"name": "Fries", "principal": firm.principal_a.pk, "customer": firm.customer.pk},
        "notes",
        10_000,
    ),
    (
        "opportunities",
        lambda firm: {"name": "Fries", "principal": firm.principal_a.pk, "customer": firm.customer.pk},
        "win_reason",
        2_000,
    ),
    (
        "opportunities",
        lambda firm: {"name": "Fries", "principal": firm.principal_a.pk, "customer": firm.customer.pk},
        "loss_reason",
        2_000,
    ),
    (
        "interactions",
        lambda firm: {
            "type": "call",
            "occurred_at": "2026-11-20T10:00:00Z",
            "subject": "Call",
            "organization": firm.customer.pk,
        },
        "notes",
        10_000,
    ),
    (
        "distributor-authorizations",
        lambda firm: {"distributor": firm.distributor.pk, "principal": firm.principal_a.pk},
        "notes",
        10_000,
    ),
    (
        "opportunity-products",
        lambda firm: {
            "opportunity": _opportunity(firm).pk,
            "product": f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk,
        },
        "notes",
        10_000,
    ),
]


@pytest.mark.parametrize(
    ("resource", "build", "field", "limit"), CASES, ids=[f"{c[0]}.{c[2]}" for c in CASES]
)
def test_free_text_over_its_limit_is_400_naming_the_field(
    firm: Firm, admin: APIClient, resource: str, build: Any, field: str, limit: int
) -> None:
    url = f"{API}/{resource}/"
    body = assert_problem(admin.post(url, {**build(firm), field: "x" * (limit + 1)}), 400, field=field)
    assert str(limit) in body["errors"][0]["detail"]
    created = ok(
        admin.post(url, {**build(firm), field: "é" * limit}), 201
    )  # exactly the limit, in characters
    assert len(created[field]) == limit


def test_change_stage_reasons_have_the_same_limit(firm: Firm, admin: APIClient) -> None:
    opportunity = _opportunity(firm)
    response = admin.post(
        f"{API}/opportunities/{opportunity.pk}/change-stage/",
        {"stage": "closed_won", "win_reason": "x" * 2_001},
    )
    assert_problem(response, 400, field="win_reason")


def test_schema_gives_each_free_text_field_its_max_length() -> None:
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]
    expected = {
        "Organization": {"notes": 10_000},
        "Contact": {"notes": 10_000},
        "Product": {"description": 10_000},
        "Opportunity": {"notes": 10_000, "win_reason": 2_000, "loss_reason": 2_000},
        "Interaction": {"notes": 10_000},
        "DistributorAuthorization": {"notes": 10_000},
        "OpportunityProduct": {"notes": 10_000},
    }
    for component, fields in expected.items():
        for field, limit in fields.items():
            assert schema[component]["properties"][field].get("maxLength") == limit, (component, field)


def test_a_member_email_over_254_characters_is_400_naming_the_field(firm: Firm, admin: APIClient) -> None:
    email = "m" * 243 + "@example.com"  # 255 characters: over varchar(254), not PostgreSQL's error
    body = assert_problem(
        admin.post(f"{API}/members/", {"email": email, "role": "viewer"}), 400, field="email"
    )
    assert "varchar" not in str(body) and "character varying" not in str(body)


# Strings a client writes that are bounded by something other than a maxLength: a date or a time, and an
# uploaded file (`binary`: bounded by its path's body limit, IMPORT_MAX_BYTES for imports).
BOUNDED_OTHERWISE = {"date", "date-time", "time", "uuid", "binary"}


def test_every_string_a_client_writes_has_a_max_length_in_the_schema() -> None:
    """Every request body's string properties: a choice, a date, a decimal's pattern or a maxLength."""
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for content in operation["requestBody"]["content"].values()
        if "$ref" in content["schema"]
    }
    assert len(bodies) > 20  # every resource's create and update, the actions, sign-in
    unbounded = []
    for component in sorted(bodies):
        for name, prop in schema["components"]["schemas"][component]["properties"].items():
            if prop.get("readOnly") or prop.get("type") != "string":
                continue
            if "enum" in prop or prop.get("format") in BOUNDED_OTHERWISE or "maxLength" in prop:
                continue
            if prop.get("format") == "decimal" and "pattern" in prop:
                continue
            unbounded.append(f"{component}.{name}")
    assert unbounded == []
