"""Every integrity rule, broken through the API, is a 400 problem naming the field, and writes nothing.

Several of these rules are caught only by the database (CHECK constraints, unique indexes, triggers); the
API must still answer with a clear 400, never a 500 and never a half-written record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for


@dataclass(frozen=True)
class Violation:
    """A request breaking one rule: `build` makes the rows it needs and returns (method, path, body)."""

    rule: str
    build: Callable[[Firm], tuple[str, str, dict[str, Any]]]
    field: str | None  # the field the errors must name (None: any non-empty field)

    def __str__(self) -> str:
        return self.rule


def _opportunity(firm: Firm, **kwargs: Any) -> Any:
    return f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, **kwargs
    )


def _opportunity_body(firm: Firm, **changes: Any) -> dict[str, Any]:
    return {"name": "Fries", "principal": firm.principal_a.pk, "customer": firm.customer.pk, **changes}


def _product_body(firm: Firm, **changes: Any) -> dict[str, Any]:
    return {"principal": firm.principal_a.pk, "name": "Fries", "sku": "FRY38", **changes}


def _interaction_body(firm: Firm, **changes: Any) -> dict[str, Any]:
    return {
        "type": "call",
        "occurred_at": "2026-11-20T10:00:00Z",
        "subject": "Call",
        "organization": firm.customer.pk,
        **changes,
    }


def _second_primary(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    f.CustomerDistributorFactory(
        tenant=firm.tenant, customer=firm.customer, distributor=firm.distributor, is_primary=True
    )
    other = f.DistributorFactory(tenant=firm.tenant)
    return (
        "post",
        "customer-distributors",
        {"customer": firm.customer.pk, "distributor": other.pk, "is_primary": True},
    )


def _duplicate_sku(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, sku="FRY38")
    return "post", "products", _product_body(firm, sku="fry38")


def _foreign_contact(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    elsewhere = f.ContactFactory(tenant=firm.tenant, organization=f.CustomerFactory(tenant=firm.tenant))
    return "post", "interactions", _interaction_body(firm, contact=elsewhere.pk)


def _foreign_contact_by_patch(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    elsewhere = f.ContactFactory(tenant=firm.tenant, organization=f.CustomerFactory(tenant=firm.tenant))
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    return "patch", f"interactions/{interaction.pk}", {"contact": elsewhere.pk}


def _foreign_product(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    product = f.ProductFactory(tenant=firm.tenant, principal=f.PrincipalFactory(tenant=firm.tenant))
    f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.manager, principal=product.principal)
    return "post", "opportunity-products", {"opportunity": _opportunity(firm).pk, "product": product.pk}


def _won_without_reason(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return "post", f"opportunities/{_opportunity(firm).pk}/change-stage", {"stage": "closed_won"}


def _won_with_blank_reason(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return (
        "post",
        f"opportunities/{_opportunity(firm).pk}/change-stage",
        {"stage": "closed_won", "win_reason": ""},
    )


def _lost_without_reason(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return "post", f"opportunities/{_opportunity(firm).pk}/change-stage", {"stage": "closed_lost"}


def _patch_opportunity(**body: Any) -> Callable[[Firm], tuple[str, str, dict[str, Any]]]:
    return lambda firm: ("patch", f"opportunities/{_opportunity(firm).pk}", body)


def _duplicate_org(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return "post", "organizations", {"name": firm.customer.name.upper(), "type": "prospect"}


def _duplicate_org_by_rename(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    other = f.CustomerFactory(tenant=firm.tenant)
    return "patch", f"organizations/{other.pk}", {"name": firm.customer.name.lower()}


def _own_parent(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return "patch", f"organizations/{firm.customer.pk}", {"parent": firm.customer.pk}


def _principal_becomes_customer(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    return "patch", f"organizations/{firm.principal_a.pk}", {"type": "customer"}


def _duplicate_contact_email(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer, email="chef@bistro.test")
    return (
        "post",
        "contacts",
        {"organization": firm.customer.pk, "first_name": "Sam", "email": "Chef@Bistro.test"},
    )


def _expires_before_authorized(firm: Firm) -> tuple[str, str, dict[str, Any]]:
    body = {
        "distributor": firm.distributor.pk,
        "principal": firm.principal_a.pk,
        "authorized_on": "2026-06-01",
        "expires_on": "2026-01-01",
    }
    return "post", "distributor-authorizations", body


VIOLATIONS = [
    Violation("closed won without win_reason (change-stage)", _won_without_reason, None),
    Violation("closed won with a blank win_reason (change-stage)", _won_with_blank_reason, None),
    Violation("closed lost without loss_reason (change-stage)", _lost_without_reason, None),
    Violation("closed won without win_reason (patch)", _patch_opportunity(stage="closed_won"), "win_reason"),
    Violation(
        "probability 101",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, probability=101)),
        "probability",
    ),
    Violation("probability -1", _patch_opportunity(probability=-1), "probability"),
    Violation(
        "negative weekly_case_volume",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, weekly_case_volume="-0.01")),
        "weekly_case_volume",
    ),
    Violation(
        "opportunity customer is a distributor",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, customer=firm.distributor.pk)),
        "customer",
    ),
    Violation(
        "opportunity principal is a customer",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, principal=firm.customer.pk)),
        "principal",
    ),
    Violation(
        "opportunity distributor is a customer",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, distributor=firm.customer.pk)),
        "distributor",
    ),
    Violation(
        "opportunity owner is not a member",
        lambda firm: ("post", "opportunities", _opportunity_body(firm, owner=f.UserFactory().pk)),
        "owner",
    ),
    Violation(
        "product principal is a customer org",
        lambda firm: ("post", "products", _product_body(firm, principal=firm.customer.pk)),
        "principal",
    ),
    Violation("duplicate SKU for a principal (case-insensitive)", _duplicate_sku, "sku"),
    Violation(
        "negative list_price",
        lambda firm: ("post", "products", _product_body(firm, list_price="-1")),
        "list_price",
    ),
    Violation("interaction contact from another organization", _foreign_contact, "contact"),
    Violation("interaction contact from another organization (patch)", _foreign_contact_by_patch, "contact"),
    Violation(
        "negative interaction duration",
        lambda firm: ("post", "interactions", _interaction_body(firm, duration_minutes=-1)),
        "duration_minutes",
    ),
    Violation("opportunity product of another principal", _foreign_product, "product"),
    Violation("duplicate organization name (case-insensitive)", _duplicate_org, "name"),
    Violation("duplicate organization name by rename", _duplicate_org_by_rename, "name"),
    Violation("organization is its own parent", _own_parent, "parent"),
    Violation("principal changes type", _principal_becomes_customer, "type"),
    Violation("duplicate contact email at an organization", _duplicate_contact_email, "email"),
    Violation("second primary distributor for a customer", _second_primary, None),
    Violation("authorization expires before it starts", _expires_before_authorized, "expires_on"),
]


def _snapshot(firm: Firm, path: str) -> Any:
    """What the admin sees of the target: the row for a detail path, the list's ids for a collection."""
    admin = client_for(firm.admin)
    target = path.removesuffix("/change-stage")
    if "/" in target:
        return ok(admin.get(f"{API}/{target}/"))
    return [row["id"] for row in ok(admin.get(f"{API}/{target}/?page_size=200"))["results"]]


@pytest.mark.parametrize("violation", VIOLATIONS, ids=str)
def test_rule_violation_is_400_problem_naming_the_field_and_writes_nothing(firm, violation):
    method, path, body = violation.build(firm)
    before = _snapshot(firm, path)
    response = getattr(client_for(firm.manager), method)(f"{API}/{path}/", body)
    problem = assert_problem(response, 400, field=violation.field)
    assert problem["errors"], problem
    assert all(error["field"] for error in problem["errors"]), problem
    assert _snapshot(firm, path) == before


def test_customer_org_as_product_principal_is_refused_even_for_an_admin(firm):
    response = client_for(firm.admin).post(
        f"{API}/products/", _product_body(firm, principal=firm.distributor.pk)
    )
    body = assert_problem(response, 400, field="principal")
    assert "principal" in body["detail"]
