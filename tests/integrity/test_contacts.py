"""Contacts: the database refuses bad raw SQL writes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, UNIQUE, insert, refused, update, value

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("column", "bad", "constraint"),
    [("role", "boss", "contact_role_valid"), ("first_name", "", "contact_first_name_not_blank")],
)
def test_contact_refuses_values_outside_its_choices(
    firm: Firm, column: str, bad: str, constraint: str
) -> None:
    values = {"organization_id": firm.customer.pk, column: bad}
    refused(lambda: insert(firm.admin, "contact", **values), CHECK, constraint=constraint)


def test_contact_email_is_unique_per_organization_case_insensitively(firm: Firm) -> None:
    insert(firm.admin, "contact", organization_id=firm.customer.pk, email="chef@bistro.test")
    refused(
        lambda: insert(firm.admin, "contact", organization_id=firm.customer.pk, email="Chef@Bistro.TEST"),
        UNIQUE,
        constraint="contact_email_key_unique_per_organization_in_firm",
    )


def test_contact_email_may_repeat_at_another_organization_after_a_soft_delete_or_when_blank(
    firm: Firm,
) -> None:
    first = insert(firm.admin, "contact", organization_id=firm.customer.pk, email="chef@bistro.test")
    insert(firm.admin, "contact", organization_id=firm.distributor.pk, email="chef@bistro.test")
    update(firm.admin, "contact", first, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    insert(firm.admin, "contact", organization_id=firm.customer.pk, email="chef@bistro.test")
    insert(firm.admin, "contact", organization_id=firm.customer.pk, email="")
    insert(firm.admin, "contact", organization_id=firm.customer.pk, email="")


def test_contact_organization_cannot_change(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    refused(
        lambda: update(firm.admin, "contact", contact.pk, organization_id=firm.distributor.pk),
        CHECK,
        column="organization_id",
        message="cannot change",
    )


def test_contact_organization_must_be_live(firm: Firm) -> None:
    gone = f.CustomerFactory(tenant=firm.tenant, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    refused(
        lambda: insert(firm.admin, "contact", organization_id=gone.pk),
        FOREIGN_KEY,
        column="organization_id",
        message="does not exist",
    )


def test_contact_reports_to_a_colleague_at_the_same_organization(firm: Firm) -> None:
    boss_elsewhere = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    refused(
        lambda: insert(
            firm.admin, "contact", organization_id=firm.customer.pk, reports_to_id=boss_elsewhere.pk
        ),
        FOREIGN_KEY,
        column="reports_to_id",
        message="same organization",
    )
    boss = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    insert(firm.admin, "contact", organization_id=firm.customer.pk, reports_to_id=boss.pk)


def test_contact_cannot_report_to_themselves(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    refused(
        lambda: update(firm.admin, "contact", contact.pk, reports_to_id=contact.pk),
        CHECK,
        column="reports_to_id",
        message="themselves",
    )


def test_contact_scope_key_is_its_organizations_and_kept_by_the_database(firm: Firm) -> None:
    at_principal = insert(
        firm.admin, "contact", organization_id=firm.principal_a.pk, scope_principal_id=firm.principal_b.pk
    )
    at_customer = insert(
        firm.admin, "contact", organization_id=firm.customer.pk, scope_principal_id=firm.principal_b.pk
    )

    assert value("contact", at_principal, "scope_principal_id") == firm.principal_a.pk
    assert value("contact", at_customer, "scope_principal_id") is None


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
def test_contact_refuses_an_organization_of_another_tenant(
    firm: Firm, other_firm: Firm, as_owner: bool
) -> None:
    values = {"organization_id": other_firm.customer.pk}
    if as_owner:
        values["tenant_id"] = firm.tenant.pk
    refused(
        lambda: insert(None if as_owner else firm.admin, "contact", **values),
        FOREIGN_KEY,
        column="organization_id",
        message="does not exist",
    )


def test_contact_refuses_reporting_to_a_contact_of_another_tenant(firm: Firm, other_firm: Firm) -> None:
    foreign_boss = f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    refused(
        lambda: insert(
            firm.admin, "contact", organization_id=firm.customer.pk, reports_to_id=foreign_boss.pk
        ),
        FOREIGN_KEY,
        column="reports_to_id",
    )
