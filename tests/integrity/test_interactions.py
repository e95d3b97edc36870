"""Interactions: the database refuses bad raw SQL writes and keeps the principal of the opportunity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crm.models import User
from opportunities.models import Opportunity
from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, insert, refused, update, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def opportunity(firm: Firm) -> Opportunity:
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


def touch(firm: Firm, **values: Any) -> dict[str, Any]:
    return {"organization_id": firm.customer.pk, **values}


def test_interaction_contact_must_belong_to_its_organization(firm: Firm) -> None:
    elsewhere = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    refused(
        lambda: insert(firm.admin, "interaction", **touch(firm, contact_id=elsewhere.pk)),
        CHECK,
        column="contact_id",
        message="organization",
    )
    here = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    pk = insert(firm.admin, "interaction", **touch(firm, contact_id=here.pk))
    refused(
        lambda: update(firm.admin, "interaction", pk, organization_id=firm.distributor.pk),
        CHECK,
        column="contact_id",
    )


def test_interaction_contact_must_be_live(firm: Firm) -> None:
    gone = f.ContactFactory(
        tenant=firm.tenant, organization=firm.customer, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    refused(
        lambda: insert(firm.admin, "interaction", **touch(firm, contact_id=gone.pk)),
        CHECK,
        column="contact_id",
    )


def test_interaction_principal_is_taken_from_its_opportunity(firm: Firm, opportunity: Opportunity) -> None:
    pk = insert(
        firm.admin,
        "interaction",
        **touch(firm, opportunity_id=opportunity.pk, principal_id=firm.principal_b.pk),
    )
    assert value("interaction", pk, "principal_id") == firm.principal_a.pk

    update(firm.admin, "interaction", pk, principal_id=firm.principal_b.pk)
    assert value("interaction", pk, "principal_id") == firm.principal_a.pk


def test_interaction_without_opportunity_keeps_the_principal_given(firm: Firm) -> None:
    pk = insert(firm.admin, "interaction", **touch(firm, principal_id=firm.principal_b.pk))
    assert value("interaction", pk, "principal_id") == firm.principal_b.pk


@pytest.mark.parametrize("wrong", ["customer", "distributor"])
def test_interaction_principal_must_be_a_principal(firm: Firm, wrong: str) -> None:
    refused(
        lambda: insert(firm.admin, "interaction", **touch(firm, principal_id=getattr(firm, wrong).pk)),
        CHECK,
        column="principal_id",
        message="must be a principal",
    )


def test_interaction_user_must_be_a_member_of_the_tenant(firm: Firm, other_firm: Firm) -> None:
    refused(
        lambda: insert(firm.admin, "interaction", **touch(firm, user_id=other_firm.admin.pk)),
        FOREIGN_KEY,
        column="user_id",
        message="does not exist",
    )
    insert(firm.admin, "interaction", **touch(firm, user_id=firm.manager.pk))


@pytest.mark.parametrize(
    ("column", "bad", "constraint"),
    [
        ("type", "telepathy", "interaction_type_valid"),
        ("sentiment", "ecstatic", "interaction_sentiment_valid"),
        ("subject", "", "interaction_subject_not_blank"),
    ],
)
def test_interaction_refuses_values_outside_its_choices(
    firm: Firm, column: str, bad: str, constraint: str
) -> None:
    refused(
        lambda: insert(firm.admin, "interaction", **touch(firm, **{column: bad})),
        CHECK,
        constraint=constraint,
    )


def test_interaction_duration_cannot_be_negative(firm: Firm) -> None:
    error = refused(lambda: insert(firm.admin, "interaction", **touch(firm, duration_minutes=-5)), CHECK)
    assert "duration_minutes" in (error.diag.constraint_name or "")


# -- references across tenants ----------------------------------------------------------------------


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
@pytest.mark.parametrize("column", ["organization_id", "opportunity_id", "principal_id", "user_id"])
def test_interaction_refuses_a_reference_to_another_tenants_row(
    firm: Firm, other_firm: Firm, column: str, as_owner: bool
) -> None:
    foreign = {
        "organization_id": other_firm.customer.pk,
        "opportunity_id": f.OpportunityFactory(
            tenant=other_firm.tenant, principal=other_firm.principal_a, customer=other_firm.customer
        ).pk,
        "principal_id": other_firm.principal_a.pk,
        "user_id": other_firm.manager.pk,
    }
    values = touch(firm, **{column: foreign[column]})
    actor: User | None = firm.admin
    if as_owner:
        values["tenant_id"], actor = firm.tenant.pk, None
    refused(
        lambda: insert(actor, "interaction", **values), FOREIGN_KEY, column=column, message="does not exist"
    )


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
def test_interaction_refuses_a_contact_of_another_tenant(
    firm: Firm, other_firm: Firm, as_owner: bool
) -> None:
    # No Ref on contact_id: the same-organization rule refuses it (and, under RLS, the same way as any
    # contact of another organization, so nothing leaks).
    foreign = f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    values = touch(firm, contact_id=foreign.pk)
    actor: User | None = firm.admin
    if as_owner:
        values["tenant_id"], actor = firm.tenant.pk, None
    refused(lambda: insert(actor, "interaction", **values), CHECK, column="contact_id")
