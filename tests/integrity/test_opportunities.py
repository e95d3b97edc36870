"""Opportunities, their products and contacts: the database refuses bad raw SQL writes and keeps its columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError

from crm.models import User
from opportunities.models import Opportunity
from products.models import Product
from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import (
    CHECK,
    FOREIGN_KEY,
    UNIQUE,
    backdate,
    db_now,
    insert,
    refused,
    run,
    select,
    update,
    value,
)

pytestmark = pytest.mark.django_db

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def opportunity(firm: Firm) -> Opportunity:
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


@pytest.fixture
def product_a(firm: Firm) -> Product:
    return f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)


@pytest.fixture
def product_b(firm: Firm) -> Product:
    return f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)


def placement(firm: Firm, **values: Any) -> dict[str, Any]:
    return {"principal_id": firm.principal_a.pk, "customer_id": firm.customer.pk, **values}


# -- organization types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "wrong", "message"),
    [
        ("principal_id", "customer", "must be a principal"),
        ("principal_id", "distributor", "must be a principal"),
        ("customer_id", "distributor", "must be a customer or prospect"),
        ("customer_id", "principal_b", "must be a customer or prospect"),
        ("distributor_id", "customer", "must be a distributor"),
        ("distributor_id", "principal_b", "must be a distributor"),
    ],
)
def test_opportunity_refuses_an_organization_of_the_wrong_type(
    firm: Firm, column: str, wrong: str, message: str
) -> None:
    values = placement(firm, **{column: getattr(firm, wrong).pk})
    refused(lambda: insert(firm.admin, "opportunity", **values), CHECK, column=column, message=message)


def test_opportunity_customer_may_be_a_prospect(firm: Firm) -> None:
    prospect = f.OrganizationFactory(tenant=firm.tenant, type="prospect")
    insert(
        firm.admin,
        "opportunity",
        **placement(firm, customer_id=prospect.pk, distributor_id=firm.distributor.pk),
    )


# -- single-row checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("probability", [-1, 101, 250])
def test_opportunity_probability_must_be_between_0_and_100(firm: Firm, probability: int) -> None:
    error = refused(
        lambda: insert(firm.admin, "opportunity", **placement(firm, probability=probability)), CHECK
    )
    assert "probability" in (error.diag.constraint_name or "")


@pytest.mark.parametrize("probability", [0, 100])
def test_opportunity_probability_bounds_are_accepted(firm: Firm, probability: int) -> None:
    insert(firm.admin, "opportunity", **placement(firm, probability=probability))


def test_opportunity_weekly_case_volume_cannot_be_negative(firm: Firm) -> None:
    refused(
        lambda: insert(firm.admin, "opportunity", **placement(firm, weekly_case_volume=Decimal("-0.5"))),
        CHECK,
        constraint="opportunity_weekly_case_volume_not_negative",
    )


@pytest.mark.parametrize(
    ("column", "bad", "constraint"),
    [
        ("stage", "negotiation", "opportunity_stage_valid"),
        ("status", "zombie", "opportunity_status_valid"),
        ("priority", "urgent", "opportunity_priority_valid"),
        ("name", "", "opportunity_name_not_blank"),
    ],
)
def test_opportunity_refuses_values_outside_its_choices(
    firm: Firm, column: str, bad: str, constraint: str
) -> None:
    refused(
        lambda: insert(firm.admin, "opportunity", **placement(firm, **{column: bad})),
        CHECK,
        constraint=constraint,
    )


# -- closing ----------------------------------------------------------------------------------------


def test_closed_won_without_a_win_reason_is_refused(firm: Firm, opportunity: Opportunity) -> None:
    refused(
        lambda: insert(firm.admin, "opportunity", **placement(firm, stage="closed_won")),
        CHECK,
        constraint="opportunity_win_reason_when_won",
    )
    refused(
        lambda: update(firm.admin, "opportunity", opportunity.pk, stage="closed_won"),
        CHECK,
        constraint="opportunity_win_reason_when_won",
    )


def test_closed_lost_without_a_loss_reason_is_refused(firm: Firm, opportunity: Opportunity) -> None:
    refused(
        lambda: update(
            firm.admin, "opportunity", opportunity.pk, stage="closed_lost", win_reason="Great fries"
        ),
        CHECK,
        constraint="opportunity_loss_reason_when_lost",
    )


def test_closing_dates_the_opportunity_today_unless_a_date_is_given(
    firm: Firm, opportunity: Opportunity
) -> None:
    today = run(None, "SELECT current_date")[0][0]
    update(firm.admin, "opportunity", opportunity.pk, stage="closed_won", win_reason="Chef loved it")
    given = insert(
        firm.admin,
        "opportunity",
        **placement(firm, stage="closed_lost", loss_reason="Price", closed_on=dt.date(2026, 2, 3)),
    )

    assert value("opportunity", opportunity.pk, "closed_on") == today
    assert value("opportunity", given, "closed_on") == dt.date(2026, 2, 3)


def test_reopening_clears_closed_on(firm: Firm, opportunity: Opportunity) -> None:
    update(
        firm.admin, "opportunity", opportunity.pk, stage="closed_lost", loss_reason="Went with private label"
    )
    update(firm.admin, "opportunity", opportunity.pk, stage="feedback_logged")

    assert value("opportunity", opportunity.pk, "closed_on") is None


def test_an_open_opportunity_cannot_carry_a_close_date(firm: Firm) -> None:
    pk = insert(firm.admin, "opportunity", **placement(firm, closed_on=dt.date(2026, 1, 1)))
    assert value("opportunity", pk, "closed_on") is None


# -- columns kept by the database -------------------------------------------------------------------


def test_stage_changed_at_is_set_by_the_database_on_insert(firm: Firm) -> None:
    pk = insert(firm.admin, "opportunity", **placement(firm, stage_changed_at=OLD))
    assert value("opportunity", pk, "stage_changed_at") == db_now()


def test_stage_changed_at_changes_only_when_the_stage_changes(firm: Firm, opportunity: Opportunity) -> None:
    backdate("opportunity", opportunity.pk, stage_changed_at=OLD)

    update(firm.admin, "opportunity", opportunity.pk, name="Renamed placement", stage_changed_at=db_now())
    assert value("opportunity", opportunity.pk, "stage_changed_at") == OLD

    update(firm.admin, "opportunity", opportunity.pk, stage="initial_outreach", stage_changed_at=OLD)
    assert value("opportunity", opportunity.pk, "stage_changed_at") == db_now()


def test_weighted_weekly_volume_is_volume_times_probability_over_100(firm: Firm) -> None:
    pk = insert(
        firm.admin, "opportunity", **placement(firm, weekly_case_volume=Decimal("37.5"), probability=40)
    )
    assert value("opportunity", pk, "weighted_weekly_volume") == Decimal("15.00")

    update(firm.admin, "opportunity", pk, probability=90, weekly_case_volume=Decimal("12"))
    assert value("opportunity", pk, "weighted_weekly_volume") == Decimal("10.80")


def test_weighted_weekly_volume_cannot_be_written(firm: Firm, opportunity: Opportunity) -> None:
    with pytest.raises(ProgrammingError) as caught:
        update(firm.admin, "opportunity", opportunity.pk, weighted_weekly_volume=999)
    assert isinstance(caught.value.__cause__, psycopg.errors.GeneratedAlways)


def test_opportunity_principal_cannot_change(firm: Firm, opportunity: Opportunity) -> None:
    refused(
        lambda: update(firm.admin, "opportunity", opportunity.pk, principal_id=firm.principal_b.pk),
        CHECK,
        column="principal_id",
        message="cannot change",
    )


def test_opportunity_owner_must_be_an_active_member_of_the_tenant(firm: Firm, other_firm: Firm) -> None:
    no_firm = f.UserFactory()
    gone = f.MembershipFactory(tenant=firm.tenant, user=f.UserFactory(is_active=False)).user
    for user in (other_firm.manager, no_firm, gone):
        refused(
            lambda user=user: insert(firm.admin, "opportunity", **placement(firm, owner_id=user.pk)),
            FOREIGN_KEY,
            column="owner_id",
            message="does not exist",
        )
    insert(firm.admin, "opportunity", **placement(firm, owner_id=firm.manager.pk))


# -- products and contacts of an opportunity ----------------------------------------------------------


def test_opportunity_product_must_be_a_product_of_the_opportunitys_principal(
    firm: Firm, opportunity: Opportunity, product_a: Product, product_b: Product
) -> None:
    refused(
        lambda: insert(
            firm.admin, "opportunity_product", opportunity_id=opportunity.pk, product_id=product_b.pk
        ),
        CHECK,
        column="product_id",
        message="principal",
    )
    line = insert(firm.admin, "opportunity_product", opportunity_id=opportunity.pk, product_id=product_a.pk)
    refused(
        lambda: update(firm.admin, "opportunity_product", line, product_id=product_b.pk),
        CHECK,
        column="product_id",
    )


def test_opportunity_product_cannot_move_to_an_opportunity_of_another_principal(
    firm: Firm, opportunity: Opportunity, product_a: Product
) -> None:
    line = insert(firm.admin, "opportunity_product", opportunity_id=opportunity.pk, product_id=product_a.pk)
    elsewhere = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer)
    refused(
        lambda: update(firm.admin, "opportunity_product", line, opportunity_id=elsewhere.pk),
        CHECK,
        column="product_id",
    )


def test_opportunity_product_volume_cannot_be_negative(
    firm: Firm, opportunity: Opportunity, product_a: Product
) -> None:
    refused(
        lambda: insert(
            firm.admin,
            "opportunity_product",
            opportunity_id=opportunity.pk,
            product_id=product_a.pk,
            weekly_case_volume=-1,
        ),
        CHECK,
        constraint="opportunity_product_volume_not_negative",
    )


def test_opportunity_product_and_contact_appear_once_per_opportunity(
    firm: Firm, opportunity: Opportunity, product_a: Product
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    line = {"opportunity_id": opportunity.pk, "product_id": product_a.pk}
    person = {"opportunity_id": opportunity.pk, "contact_id": contact.pk}
    insert(firm.admin, "opportunity_product", **line)
    insert(firm.admin, "opportunity_contact", **person)
    refused(
        lambda: insert(firm.admin, "opportunity_product", **line),
        UNIQUE,
        constraint="opportunity_product_unique_in_firm",
    )
    refused(
        lambda: insert(firm.admin, "opportunity_contact", **person),
        UNIQUE,
        constraint="opportunity_contact_unique_in_firm",
    )


def test_opportunity_contact_role_must_be_a_contact_role(firm: Firm, opportunity: Opportunity) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    refused(
        lambda: insert(
            firm.admin,
            "opportunity_contact",
            opportunity_id=opportunity.pk,
            contact_id=contact.pk,
            role="mascot",
        ),
        CHECK,
        constraint="opportunity_contact_role_valid",
    )


def test_opportunity_lines_take_their_scope_key_from_the_opportunity(
    firm: Firm, opportunity: Opportunity, product_a: Product
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    wrong = firm.principal_b.pk
    line = insert(
        firm.admin,
        "opportunity_product",
        opportunity_id=opportunity.pk,
        product_id=product_a.pk,
        scope_principal_id=wrong,
    )
    person = insert(
        firm.admin,
        "opportunity_contact",
        opportunity_id=opportunity.pk,
        contact_id=contact.pk,
        scope_principal_id=wrong,
    )
    assert select("opportunity_product", line, "scope_principal_id") == (firm.principal_a.pk,)
    assert select("opportunity_contact", person, "scope_principal_id") == (firm.principal_a.pk,)


# -- references across tenants ----------------------------------------------------------------------


def _foreign(other: Firm) -> dict[str, Callable[[], int]]:
    return {
        "principal": lambda: other.principal_a.pk,
        "customer": lambda: other.customer.pk,
        "distributor": lambda: other.distributor.pk,
        "user": lambda: other.manager.pk,
        "opportunity": lambda: (
            f.OpportunityFactory(tenant=other.tenant, principal=other.principal_a, customer=other.customer).pk
        ),
        "product": lambda: f.ProductFactory(tenant=other.tenant, principal=other.principal_a).pk,
        "contact": lambda: f.ContactFactory(tenant=other.tenant, organization=other.customer).pk,
    }


CROSS_TENANT = [
    ("opportunity", "principal_id", "principal"),
    ("opportunity", "customer_id", "customer"),
    ("opportunity", "distributor_id", "distributor"),
    ("opportunity", "owner_id", "user"),
    ("opportunity_product", "opportunity_id", "opportunity"),
    ("opportunity_product", "product_id", "product"),
    ("opportunity_contact", "opportunity_id", "opportunity"),
    ("opportunity_contact", "contact_id", "contact"),
]


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
@pytest.mark.parametrize(
    ("table", "column", "kind"), [pytest.param(*case, id=f"{case[0]}.{case[1]}") for case in CROSS_TENANT]
)
def test_opportunity_tables_refuse_a_reference_to_another_tenants_row(
    firm: Firm,
    other_firm: Firm,
    opportunity: Opportunity,
    product_a: Product,
    table: str,
    column: str,
    kind: str,
    as_owner: bool,
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    valid: dict[str, dict[str, Any]] = {
        "opportunity": placement(firm),
        "opportunity_product": {"opportunity_id": opportunity.pk, "product_id": product_a.pk},
        "opportunity_contact": {"opportunity_id": opportunity.pk, "contact_id": contact.pk},
    }
    values = {**valid[table], column: _foreign(other_firm)[kind]()}
    actor: User | None = firm.admin
    if as_owner:
        values["tenant_id"], actor = firm.tenant.pk, None
    refused(lambda: insert(actor, table, **values), FOREIGN_KEY, column=column, message="does not exist")
