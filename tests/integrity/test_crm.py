"""Tenancy and the base of every business table: tenant_id and audit columns are the database's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps

from crm.models import TenantModel
from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, UNIQUE, backdate, db_now, insert, refused, run, select, update

pytestmark = pytest.mark.django_db

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
AUDIT = ("created_at", "updated_at", "created_by_id", "updated_by_id")


@pytest.fixture
def rows(firm: Firm) -> dict[str, int]:
    """One row of every tenant table, created by the manager (as the owner, like set-up data)."""
    t, by = firm.tenant, {"created_by": firm.manager, "updated_by": firm.manager}
    opportunity = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer, **by)
    product = f.ProductFactory(tenant=t, principal=firm.principal_a, **by)
    contact = f.ContactFactory(tenant=t, organization=firm.customer, **by)
    sample = f.SampleFactory(
        tenant=t,
        interaction=f.SampleInteractionFactory(
            tenant=t, organization=firm.customer, principal=firm.principal_a, **by
        ),
        **by,
    )
    return {
        "organization": f.CustomerFactory(tenant=t, **by).pk,
        "distributor_authorization": f.DistributorAuthorizationFactory(
            tenant=t, distributor=firm.distributor, principal=firm.principal_a, **by
        ).pk,
        "customer_distributor": f.CustomerDistributorFactory(
            tenant=t, customer=firm.customer, distributor=firm.distributor, **by
        ).pk,
        "principal_assignment": f.PrincipalAssignmentFactory(
            tenant=t, user=firm.admin, principal=firm.principal_b, **by
        ).pk,
        "contact": contact.pk,
        "product": product.pk,
        "product_distributor": f.ProductDistributorFactory(
            tenant=t, product=product, distributor=firm.distributor, **by
        ).pk,
        "opportunity": opportunity.pk,
        "opportunity_product": f.OpportunityProductFactory(
            tenant=t, opportunity=opportunity, product=product, **by
        ).pk,
        "opportunity_contact": f.OpportunityContactFactory(
            tenant=t, opportunity=opportunity, contact=contact, **by
        ).pk,
        "interaction": f.InteractionFactory(tenant=t, organization=firm.customer, **by).pk,
        "sample": sample.pk,
        "sample_line": f.SampleLineFactory(
            tenant=t, interaction=sample.interaction, product=product, **by
        ).pk,
        "task": f.TaskFactory(tenant=t, organization=firm.customer, assignee=firm.manager, **by).pk,
    }


TENANT_TABLES = sorted(
    model._meta.db_table
    for model in apps.get_models()
    if issubclass(model, TenantModel) and not model._meta.abstract
)


def test_every_tenant_table_is_covered_here() -> None:
    assert set(TENANT_TABLES) == {
        "organization", "distributor_authorization", "customer_distributor", "principal_assignment", "contact",
        "product", "product_distributor", "opportunity", "opportunity_product", "opportunity_contact",
        "interaction", "sample", "sample_line", "task",
    }  # fmt: skip


# -- tenant_id --------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
@pytest.mark.parametrize("table", TENANT_TABLES)
def test_a_row_cannot_move_to_another_tenant(
    firm: Firm, other_firm: Firm, rows: dict[str, int], table: str, as_owner: bool
) -> None:
    refused(
        lambda: update(None if as_owner else firm.admin, table, rows[table], tenant_id=other_firm.tenant.pk),
        CHECK,
        column="tenant_id",
        message="another tenant",
    )


def test_tenant_id_is_filled_from_the_acting_users_tenant(firm: Firm) -> None:
    pk = insert(firm.manager, "organization", name="Dockside Diner")
    assert select("organization", pk, "tenant_id") == (firm.tenant.pk,)


# -- audit columns ----------------------------------------------------------------------------------


def test_audit_columns_on_insert_come_from_the_database_not_the_sql(firm: Firm) -> None:
    pk = insert(
        firm.manager,
        "organization",
        name="Dockside Diner",
        created_at=OLD,
        updated_at=OLD,
        created_by_id=firm.admin.pk,
        updated_by_id=firm.admin.pk,
    )
    now = db_now()
    assert select("organization", pk, *AUDIT) == (now, now, firm.manager.pk, firm.manager.pk)


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_audit_columns_on_update_come_from_the_database_not_the_sql(
    firm: Firm, rows: dict[str, int], table: str
) -> None:
    pk = rows[table]
    backdate(table, pk, created_at=OLD, updated_at=OLD)

    update(
        firm.admin,
        table,
        pk,
        created_at=dt.datetime(2021, 6, 1, tzinfo=dt.UTC),
        updated_at=OLD,
        created_by_id=firm.admin.pk,
        updated_by_id=firm.other_manager.pk,
    )

    assert select(table, pk, *AUDIT) == (OLD, db_now(), firm.manager.pk, firm.admin.pk)


def test_owner_writes_outside_a_request_keep_the_audit_user_they_pass(firm: Firm) -> None:
    # Set-up code and `load_demo` run as the owner with no acting user: they name the author themselves.
    pk = insert(
        None,
        "organization",
        name="Dockside Diner",
        tenant_id=firm.tenant.pk,
        created_by_id=firm.manager.pk,
        updated_by_id=firm.manager.pk,
    )
    assert select("organization", pk, "created_by_id", "updated_by_id") == (firm.manager.pk, firm.manager.pk)


# -- tenancy tables ---------------------------------------------------------------------------------


def test_tenant_name_is_unique_case_insensitively(firm: Firm) -> None:
    refused(
        lambda: run(None, "INSERT INTO tenant (name) VALUES (%s)", [firm.tenant.name.upper()]),
        UNIQUE,
        constraint="tenant_name_key_unique",
    )


def test_user_email_is_unique_case_insensitively(firm: Firm) -> None:
    refused(
        lambda: run(
            None,
            "INSERT INTO crm_user (email, password, first_name, last_name, is_active, is_staff, is_superuser)"
            " VALUES (%s, '', '', '', true, false, false)",
            [firm.admin.email.upper()],
        ),
        UNIQUE,
        constraint="crm_user_email_key_unique",
    )


def test_membership_role_must_be_admin_manager_or_viewer(firm: Firm) -> None:
    user = f.UserFactory()
    refused(
        lambda: run(
            firm.admin,
            "INSERT INTO membership (tenant_id, user_id, role) VALUES (%s, %s, 'owner')",
            [firm.tenant.pk, user.pk],
        ),
        CHECK,
        constraint="membership_role_valid",
    )


def test_a_user_belongs_to_one_tenant_only(firm: Firm, other_firm: Firm) -> None:
    error = refused(
        lambda: run(
            None,
            "INSERT INTO membership (tenant_id, user_id, role) VALUES (%s, %s, 'viewer')",
            [other_firm.tenant.pk, firm.manager.pk],
        ),
        UNIQUE,
    )
    assert "user_id" in (error.diag.constraint_name or "")
