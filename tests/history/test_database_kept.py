"""Columns the database keeps (updated_at, stage_changed_at, scope keys, weighted_weekly_volume, the
soft delete's deleted_by) take the database's values whatever raw SQL as the runtime role writes."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import DatabaseError

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import backdate, db_now, insert, select, update, value

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_updated_at_is_the_time_of_the_write_not_what_sql_says(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    backdate("contact", contact.pk, updated_at=LONG_AGO, created_at=LONG_AGO)

    update(firm.manager, "contact", contact.pk, title="Chef", updated_at=LONG_AGO, created_at=db_now())

    assert select("contact", contact.pk, "updated_at", "created_at") == (db_now(), LONG_AGO)


def test_insert_takes_created_and_updated_at_from_the_database(firm: Firm) -> None:
    pk = insert(
        firm.manager, "contact", organization_id=firm.customer.pk, created_at=LONG_AGO, updated_at=LONG_AGO
    )

    assert select("contact", pk, "created_at", "updated_at") == (db_now(), db_now())


def test_stage_changed_at_moves_only_with_the_stage_whatever_sql_sets(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    earlier = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    backdate("opportunity", opportunity.pk, stage_changed_at=earlier)

    update(firm.manager, "opportunity", opportunity.pk, next_action="Call", stage_changed_at=LONG_AGO)
    assert value("opportunity", opportunity.pk, "stage_changed_at") == earlier

    update(firm.manager, "opportunity", opportunity.pk, stage="demo_scheduled", stage_changed_at=LONG_AGO)
    assert value("opportunity", opportunity.pk, "stage_changed_at") == db_now()


def test_stage_changed_at_on_insert_is_now_whatever_sql_sets(firm: Firm) -> None:
    pk = insert(
        firm.manager,
        "opportunity",
        principal_id=firm.principal_a.pk,
        customer_id=firm.customer.pk,
        stage_changed_at=LONG_AGO,
    )

    assert value("opportunity", pk, "stage_changed_at") == db_now()


def test_weighted_weekly_volume_follows_volume_and_probability_and_cannot_be_written(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)

    update(firm.manager, "opportunity", opportunity.pk, weekly_case_volume=40, probability=25)
    assert str(value("opportunity", opportunity.pk, "weighted_weekly_volume")) == "10.00"

    with pytest.raises(DatabaseError) as refused:
        update(firm.manager, "opportunity", opportunity.pk, weighted_weekly_volume=999)
    assert isinstance(refused.value.__cause__, psycopg.errors.GeneratedAlways)
    with pytest.raises(DatabaseError):
        insert(
            firm.manager,
            "opportunity",
            principal_id=firm.principal_a.pk,
            customer_id=firm.customer.pk,
            weighted_weekly_volume=999,
        )
    assert str(value("opportunity", opportunity.pk, "weighted_weekly_volume")) == "10.00"


def test_scope_keys_are_recomputed_whatever_sql_writes(firm: Firm) -> None:
    admin, b = firm.admin, firm.principal_b.pk
    customer_contact = insert(admin, "contact", organization_id=firm.customer.pk, scope_principal_id=b)
    principal_contact = insert(admin, "contact", organization_id=firm.principal_a.pk, scope_principal_id=b)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    line = insert(
        admin,
        "opportunity_product",
        opportunity_id=opportunity.pk,
        product_id=product.pk,
        scope_principal_id=b,
    )
    item = insert(
        admin,
        "product_distributor",
        product_id=product.pk,
        distributor_id=firm.distributor.pk,
        scope_principal_id=b,
    )
    interaction = insert(
        admin, "interaction", organization_id=firm.customer.pk, opportunity_id=opportunity.pk, principal_id=b
    )
    a = firm.principal_a.pk

    assert value("contact", customer_contact, "scope_principal_id") is None
    assert value("contact", principal_contact, "scope_principal_id") == a
    assert value("opportunity_product", line, "scope_principal_id") == a
    assert value("product_distributor", item, "scope_principal_id") == a
    assert value("interaction", interaction, "principal_id") == a  # taken from the opportunity

    update(admin, "contact", customer_contact, scope_principal_id=b)
    update(admin, "opportunity_product", line, scope_principal_id=b)
    update(admin, "organization", firm.customer.pk, scope_principal_id=b)
    update(admin, "organization", firm.principal_a.pk, scope_principal_id=b)
    assert value("contact", customer_contact, "scope_principal_id") is None
    assert value("opportunity_product", line, "scope_principal_id") == a
    assert value("organization", firm.customer.pk, "scope_principal_id") is None
    assert value("organization", firm.principal_a.pk, "scope_principal_id") == a


def test_deleted_by_is_the_acting_user_and_is_cleared_on_restore(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)

    update(firm.manager, "contact", contact.pk, deleted_at=db_now(), deleted_by_id=firm.admin.pk)
    assert value("contact", contact.pk, "deleted_by_id") == firm.manager.pk

    update(firm.admin, "contact", contact.pk, deleted_at=None, deleted_by_id=firm.manager.pk)
    assert select("contact", contact.pk, "deleted_at", "deleted_by_id") == (None, None)
