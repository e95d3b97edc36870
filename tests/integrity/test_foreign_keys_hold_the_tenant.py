"""Every foreign key between two of a firm's tables holds the tenant in the database:
`(x_id, tenant_id) REFERENCES t (id, tenant_id)` (crm.models.TenantModel says why). Checked against the
models (no key forgotten, none left single-column) and by writes that skip the reference-check trigger:
the constraint alone refuses a row pointing into another firm."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction

from crm.models import TenantModel
from tests import factories as f

pytestmark = pytest.mark.django_db


# Tables of a firm that are not business records (no audit columns, no soft delete) but reference each
# other: their keys hold the tenant too.
FIRM_TABLES = (
    "webhooks.WebhookEndpoint",
    "webhooks.WebhookDelivery",
    "sales.SalesFact",
    "sales.SalesUnmatched",
    "sales.CustomerAlias",
    "sales.ColumnMapping",
)


def of_a_firm(model: Any) -> bool:
    return issubclass(model, TenantModel) or model._meta.label in FIRM_TABLES


def tenant_references() -> set[tuple[str, str, str]]:
    """(table, column, referenced table) of every ForeignKey from one firm's table to another."""
    found = set()
    for model in apps.get_models():
        if not of_a_firm(model):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and of_a_firm(field.related_model):
                assert field.related_model is not None
                found.add((model._meta.db_table, field.column, field.related_model._meta.db_table))
    return found


def catalog_keys() -> list[dict[str, Any]]:
    """Every foreign key between two tables that both have tenant_id."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT k.conname, k.conrelid::regclass::text, k.confrelid::regclass::text, k.convalidated,
                      k.condeferrable, k.condeferred,
                      ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n
                             ORDER BY u.o)::text[],
                      ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                              JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n
                             ORDER BY u.o)::text[]
                 FROM pg_constraint k
                WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
                  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = k.conrelid AND attname = 'tenant_id')
                  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = k.confrelid AND attname = 'tenant_id')"""
        )
        names = ("name", "table", "references", "valid", "deferrable", "deferred", "columns", "referenced")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_every_reference_between_a_firms_tables_is_a_validated_key_holding_the_tenant():
    keys = catalog_keys()
    expected = tenant_references()
    assert len(expected) >= 22  # the schema's references, not an empty scan
    assert {(key["table"], key["columns"][0], key["references"]) for key in keys} == expected, (
        "each ForeignKey between TenantModels needs its `…_in_firm` key (crm/migration_operations.py)"
    )
    for key in keys:
        column = key["columns"][0]
        assert key["name"] == f"{key['table']}_{column.removesuffix('_id')}_in_firm"
        assert (key["columns"], key["referenced"]) == ([column, "tenant_id"], ["id", "tenant_id"]), key
        assert key["valid"] and key["deferrable"] and key["deferred"], key


def test_the_models_leave_the_key_to_the_migrations():
    """Django would add (and later look for) a single-column key of its own: the models say db_constraint=False."""
    for model in apps.get_models():
        if of_a_firm(model):
            for field in model._meta.get_fields():
                if isinstance(field, models.ForeignKey) and of_a_firm(field.related_model):
                    assert field.db_constraint is False, f"{model.__name__}.{field.name}"


def trigger_skipped_write(table: str, statement: str, params: list[Any]) -> None:
    """`statement` with the table's reference-check trigger disabled, the keys checked at once."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # also runs the checks pending from the factories
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
            [table, "pgtrigger_check_references_%"],
        )
        (trigger,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    ("table", "column", "make", "target"),
    [
        ("contact", "organization_id", "contact", "customer"),
        ("opportunity", "customer_id", "opportunity", "customer"),
        ("principal_assignment", "principal_id", "assignment", "principal_a"),
    ],
)
def test_the_key_alone_refuses_a_row_pointing_into_another_firm(
    firm, other_firm, table, column, make, target
):
    rows = {
        "contact": lambda: f.ContactFactory(tenant=firm.tenant, organization=firm.customer),
        "opportunity": lambda: f.OpportunityFactory(
            tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer
        ),
        "assignment": lambda: f.PrincipalAssignmentFactory(
            tenant=firm.tenant, user=firm.admin, principal=firm.principal_b
        ),
    }
    row = rows[make]()
    theirs = getattr(other_firm, target).pk
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        trigger_skipped_write(table, f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [theirs, row.pk])
    assert refused.value.__cause__.diag.constraint_name == f"{table}_{column.removesuffix('_id')}_in_firm"
    # The same write within the firm passes the key: it is the tenant the key refuses, not the write.
    ours = getattr(firm, target).pk
    with transaction.atomic():
        trigger_skipped_write(table, f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [ours, row.pk])
        transaction.set_rollback(True)


def test_the_reference_check_still_names_the_field_for_another_firms_row(firm, other_firm):
    """What a client sees is unchanged: the trigger (now looking the row up by id and tenant) refuses first,
    naming the column, exactly as for a row that does not exist."""
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE contact SET reports_to_id = %s WHERE id = %s",
            [f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer).pk, contact.pk],
        )
    diag = refused.value.__cause__.diag
    assert (diag.sqlstate, diag.column_name) == ("23503", "reports_to_id")
    assert diag.message_primary.startswith("reports_to ")
