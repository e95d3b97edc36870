"""Organizations, books and organization relationships: the database refuses bad raw SQL writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, UNIQUE, insert, refused, run, update, value

pytestmark = pytest.mark.django_db


# -- organization -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "bad", "constraint"),
    [
        ("type", "supplier", "organization_type_valid"),
        ("priority", "Z", "organization_priority_valid"),
        ("segment", "spaceport", "organization_segment_valid"),
        ("status", "dormant", "organization_status_valid"),
        ("name", "", "organization_name_not_blank"),
    ],
)
def test_organization_refuses_values_outside_its_choices(
    firm: Firm, column: str, bad: str, constraint: str
) -> None:
    values = {"name": "Harbor Bistro", column: bad}
    refused(lambda: insert(firm.admin, "organization", **values), CHECK, constraint=constraint)


def test_organization_cannot_be_its_own_parent(firm: Firm) -> None:
    refused(
        lambda: update(firm.admin, "organization", firm.customer.pk, parent_id=firm.customer.pk),
        CHECK,
        constraint="organization_parent_not_self",
    )


def test_organization_name_is_unique_per_tenant_case_insensitively(firm: Firm) -> None:
    refused(
        lambda: insert(firm.admin, "organization", name=firm.customer.name.upper()),
        UNIQUE,
        constraint="organization_name_key_unique",
    )


def test_principal_name_is_unique_among_the_tenants_principals(firm: Firm) -> None:
    refused(
        lambda: insert(firm.admin, "organization", name=firm.principal_a.name.lower(), type="principal"),
        UNIQUE,
        constraint="organization_principal_name_key_unique",
    )


def test_organization_name_uniqueness_ignores_soft_deleted_rows_and_other_tenants(
    firm: Firm, other_firm: Firm
) -> None:
    update(firm.admin, "organization", firm.customer.pk, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    insert(firm.admin, "organization", name=firm.customer.name)
    insert(other_firm.admin, "organization", name=firm.distributor.name, type="distributor")


def test_principals_and_shared_organizations_are_separate_name_scopes_by_design(firm: Firm) -> None:
    # A manager must not learn that a principal outside their book exists through a unique error.
    insert(firm.admin, "organization", name=firm.principal_a.name, type="customer")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("principal", "customer"),
        ("customer", "principal"),
        ("distributor", "customer"),
        ("customer", "distributor"),
    ],
)
def test_organization_type_changes_only_between_customer_and_prospect(
    firm: Firm, before: str, after: str
) -> None:
    # Rows elsewhere were checked against the type (an opportunity's distributor, a product's principal).
    organization = {
        "principal": firm.principal_a,
        "distributor": firm.distributor,
        "customer": firm.customer,
    }[before]
    refused(
        lambda: update(firm.admin, "organization", organization.pk, type=after),
        CHECK,
        column="type",
        message="only between customer and prospect",
    )


def test_only_an_admin_renames_a_principal(firm: Firm) -> None:
    refused(
        lambda: update(firm.manager, "organization", firm.principal_a.pk, name="Renamed Foods"),
        CHECK,
        column="name",
        message="only an admin can rename a principal",
    )
    update(firm.admin, "organization", firm.principal_a.pk, name="Renamed Foods")


def test_a_chain_parent_is_a_principal_exactly_when_the_unit_is(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin, "organization", name="Unit 9", type="customer", parent_id=firm.principal_a.pk
        ),
        CHECK,
        column="parent_id",
        message="parent must be a principal",
    )


def test_customer_may_become_a_prospect_and_back(firm: Firm) -> None:
    update(firm.admin, "organization", firm.customer.pk, type="prospect")
    update(firm.admin, "organization", firm.customer.pk, type="customer")


def test_organization_parent_must_be_a_live_organization(firm: Firm) -> None:
    chain = f.CustomerFactory(
        tenant=firm.tenant, name="Closed Chain", deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    refused(
        lambda: insert(firm.admin, "organization", name="Unit 7", parent_id=chain.pk),
        FOREIGN_KEY,
        column="parent_id",
        message="does not exist",
    )


def test_organization_account_manager_must_be_a_member_of_the_tenant(firm: Firm, other_firm: Firm) -> None:
    outsider = f.UserFactory()  # no membership at all
    for user in (other_firm.manager, outsider):
        refused(
            lambda user=user: insert(
                firm.admin, "organization", name="Harbor Bistro", account_manager_id=user.pk
            ),
            FOREIGN_KEY,
            column="account_manager_id",
            message="does not exist",
        )
    insert(firm.admin, "organization", name="Harbor Bistro", account_manager_id=firm.manager.pk)


def test_organization_principal_scope_key_is_kept_by_the_database(firm: Firm) -> None:
    principal = insert(
        firm.admin, "organization", name="New Line Foods", type="principal", scope_principal_id=1
    )
    customer = insert(firm.admin, "organization", name="New Bistro", scope_principal_id=principal)

    assert value("organization", principal, "scope_principal_id") == principal
    assert value("organization", customer, "scope_principal_id") is None


# -- distributor authorization ----------------------------------------------------------------------


def authorization(firm: Firm) -> dict[str, Any]:
    return {"distributor_id": firm.distributor.pk, "principal_id": firm.principal_a.pk}


@pytest.mark.parametrize(
    ("column", "wrong", "message"),
    [
        ("distributor_id", "customer", "must be a distributor"),
        ("principal_id", "distributor", "must be a principal"),
    ],
)
def test_distributor_authorization_refuses_organizations_of_the_wrong_type(
    firm: Firm, column: str, wrong: str, message: str
) -> None:
    values = {**authorization(firm), column: getattr(firm, wrong).pk}
    refused(
        lambda: insert(firm.admin, "distributor_authorization", **values),
        CHECK,
        column=column,
        message=message,
    )


def test_distributor_authorization_cannot_expire_before_it_starts(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin,
            "distributor_authorization",
            **authorization(firm),
            authorized_on=dt.date(2026, 3, 1),
            expires_on=dt.date(2026, 2, 1),
        ),
        CHECK,
        constraint="distributor_authorization_expires_after_authorized",
    )


def test_distributor_authorization_is_unique_per_distributor_and_principal(firm: Firm) -> None:
    insert(firm.admin, "distributor_authorization", **authorization(firm))
    refused(
        lambda: insert(firm.admin, "distributor_authorization", **authorization(firm)),
        UNIQUE,
        constraint="distributor_authorization_unique_in_firm",
    )


# -- customer distributor ---------------------------------------------------------------------------


def test_customer_distributor_customer_must_be_a_customer_or_prospect(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin,
            "customer_distributor",
            customer_id=firm.principal_a.pk,
            distributor_id=firm.distributor.pk,
        ),
        CHECK,
        column="customer_id",
        message="must be a customer or prospect",
    )


def test_customer_distributor_distributor_must_be_a_distributor(firm: Firm) -> None:
    other_customer = f.CustomerFactory(tenant=firm.tenant)
    refused(
        lambda: insert(
            firm.admin, "customer_distributor", customer_id=firm.customer.pk, distributor_id=other_customer.pk
        ),
        CHECK,
        column="distributor_id",
        message="must be a distributor",
    )


def test_customer_has_at_most_one_primary_distributor(firm: Firm) -> None:
    second = f.DistributorFactory(tenant=firm.tenant)
    link = {"customer_id": firm.customer.pk, "is_primary": True}
    insert(firm.admin, "customer_distributor", distributor_id=firm.distributor.pk, **link)
    refused(
        lambda: insert(firm.admin, "customer_distributor", distributor_id=second.pk, **link),
        UNIQUE,
        constraint="customer_distributor_one_primary_in_firm",
    )
    insert(firm.admin, "customer_distributor", customer_id=firm.customer.pk, distributor_id=second.pk)


def test_customer_distributor_pair_is_unique(firm: Firm) -> None:
    link = {"customer_id": firm.customer.pk, "distributor_id": firm.distributor.pk}
    insert(firm.admin, "customer_distributor", **link)
    refused(
        lambda: insert(firm.admin, "customer_distributor", **link),
        UNIQUE,
        constraint="customer_distributor_unique_in_firm",
    )


# -- principal assignment (books) -------------------------------------------------------------------


def test_principal_assignment_principal_must_be_a_principal(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin, "principal_assignment", user_id=firm.manager.pk, principal_id=firm.customer.pk
        ),
        CHECK,
        column="principal_id",
        message="must be a principal",
    )


def test_principal_assignment_user_must_be_a_member_of_the_tenant(firm: Firm, other_firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin,
            "principal_assignment",
            user_id=other_firm.manager.pk,
            principal_id=firm.principal_b.pk,
        ),
        FOREIGN_KEY,
        column="user_id",
        message="does not exist",
    )


def test_principal_is_in_a_users_book_at_most_once(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin, "principal_assignment", user_id=firm.manager.pk, principal_id=firm.principal_a.pk
        ),
        UNIQUE,
        constraint="principal_assignment_unique_in_firm",
    )


# -- references across tenants ----------------------------------------------------------------------

CROSS_TENANT = [
    # (table, column, the other tenant's row it points at, the rest of a valid row)
    ("organization", "parent_id", "customer", lambda firm: {"name": "Harbor Bistro"}),
    ("organization", "account_manager_id", "manager", lambda firm: {"name": "Harbor Bistro"}),
    (
        "distributor_authorization",
        "distributor_id",
        "distributor",
        lambda firm: {"principal_id": firm.principal_a.pk},
    ),
    (
        "distributor_authorization",
        "principal_id",
        "principal_a",
        lambda firm: {"distributor_id": firm.distributor.pk},
    ),
    ("customer_distributor", "customer_id", "customer", lambda firm: {"distributor_id": firm.distributor.pk}),
    ("customer_distributor", "distributor_id", "distributor", lambda firm: {"customer_id": firm.customer.pk}),
    ("principal_assignment", "principal_id", "principal_a", lambda firm: {"user_id": firm.other_manager.pk}),
    ("principal_assignment", "user_id", "manager", lambda firm: {"principal_id": firm.principal_b.pk}),
]


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
@pytest.mark.parametrize(
    ("table", "column", "foreign", "rest"),
    [pytest.param(*case, id=f"{case[0]}.{case[1]}") for case in CROSS_TENANT],
)
def test_organization_tables_refuse_a_reference_to_another_tenants_row(
    firm: Firm,
    other_firm: Firm,
    table: str,
    column: str,
    foreign: str,
    rest: Callable[[Firm], dict[str, Any]],
    as_owner: bool,
) -> None:
    values = {**rest(firm), column: getattr(other_firm, foreign).pk}
    if as_owner:  # outside RLS: the triggers' own tenant comparison refuses it
        values["tenant_id"] = firm.tenant.pk
    refused(
        lambda: insert(None if as_owner else firm.admin, table, **values),
        FOREIGN_KEY,
        column=column,
        message="does not exist",
    )


def test_cross_tenant_reference_is_refused_on_update_too(firm: Firm, other_firm: Firm) -> None:
    refused(
        lambda: update(firm.admin, "organization", firm.customer.pk, parent_id=other_firm.customer.pk),
        FOREIGN_KEY,
        column="parent_id",
        message="does not exist",
    )
    assert run(firm.admin, "SELECT count(*) FROM organization WHERE id = %s", [other_firm.customer.pk]) == [
        (0,)
    ]
