"""Sales facts, kept rows, aliases and mappings: the database refuses bad raw SQL writes (ADR 0034)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, UNIQUE, refused, run, value

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


def fact(firm: Firm, user: Any = None, **values: Any) -> int:
    product = (
        values.pop("product_id", None) or f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk
    )
    row = {
        "tenant_id": firm.tenant.pk,
        "distributor_id": firm.distributor.pk,
        "product_id": product,
        "customer_id": firm.customer.pk,
        "principal_id": firm.principal_b.pk,  # whatever a writer says, the product's principal is kept
        "period_kind": "week",
        "period_start": MONDAY,
        "cases": 3,
        **values,
    }
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    return int(
        run(
            user or firm.admin,
            f"INSERT INTO sales_fact ({columns}) VALUES ({marks}) RETURNING id",
            list(row.values()),
        )[0][0]
    )


def test_a_fact_belongs_to_its_products_principal(firm: Firm) -> None:
    pk = fact(firm)
    assert value("sales_fact", pk, "principal_id") == firm.principal_a.pk


@pytest.mark.parametrize(
    ("kind", "start"),
    [("week", dt.date(2026, 3, 3)), ("month", dt.date(2026, 3, 2)), ("day", MONDAY)],
)
def test_a_period_starts_on_a_monday_or_a_first(firm: Firm, kind: str, start: dt.date) -> None:
    refused(lambda: fact(firm, period_kind=kind, period_start=start), CHECK)
    fact(firm, period_kind="month", period_start=dt.date(2026, 3, 1))


@pytest.mark.parametrize(
    ("dollars", "currency"), [(10, None), (None, "USD"), (10, "usd"), (10, "ZZZ"), (10, "XXX")]
)
def test_dollars_come_with_an_iso_4217_currency(firm: Firm, dollars: Any, currency: Any) -> None:
    refused(
        lambda: fact(firm, dollars=dollars, currency=currency),
        CHECK,
        constraint="sales_fact_dollars_with_currency",
    )
    fact(firm, dollars=10, currency="EUR")


def test_one_fact_per_distributor_product_customer_and_period(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk
    fact(firm, product_id=product)
    refused(lambda: fact(firm, product_id=product), UNIQUE, constraint="sales_fact_unique_per_period")
    fact(firm, product_id=product, period_kind="month", period_start=dt.date(2026, 3, 1))


@pytest.mark.parametrize(
    ("column", "wrong"),
    [("distributor_id", "customer"), ("customer_id", "distributor"), ("customer_id", "principal_a")],
)
def test_references_are_of_the_right_type(firm: Firm, column: str, wrong: str) -> None:
    refused(lambda: fact(firm, **{column: getattr(firm, wrong).pk}), FOREIGN_KEY, column=column)


def test_a_product_out_of_the_writers_book_reads_as_missing(firm: Firm) -> None:
    theirs = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b).pk
    refused(lambda: fact(firm, user=firm.manager, product_id=theirs), FOREIGN_KEY, column="product_id")


def test_a_facts_identity_never_changes(firm: Firm) -> None:
    pk = fact(firm)
    other = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk
    refused(
        lambda: run(firm.admin, "UPDATE sales_fact SET product_id = %s WHERE id = %s", [other, pk]), CHECK
    )
    refused(
        lambda: run(
            firm.admin, "UPDATE sales_fact SET period_start = %s WHERE id = %s", [dt.date(2026, 3, 9), pk]
        ),
        CHECK,
    )
    run(firm.admin, "UPDATE sales_fact SET cases = 7 WHERE id = %s", [pk])


def unmatched(firm: Firm, **values: Any) -> int:
    row = {
        "tenant_id": firm.tenant.pk,
        "created_by_id": firm.admin.pk,
        "distributor_id": firm.distributor.pk,
        "item_number": "1001",
        "sku": "",
        "description": "",
        "ship_to_number": "",
        "ship_to_name": "Somewhere",
        "period_kind": "week",
        "period_start": MONDAY,
        "cases": 1,
        "suggestions": "{}",
        **values,
    }
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    return int(
        run(
            firm.admin,
            f"INSERT INTO sales_unmatched ({columns}) VALUES ({marks}) RETURNING id",
            list(row.values()),
        )[0][0]
    )


def test_a_kept_row_lacks_a_product_or_a_customer_and_names_what_it_lacks(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk
    refused(
        lambda: unmatched(firm, product_id=product, customer_id=firm.customer.pk),
        CHECK,
        constraint="sales_unmatched_not_matched",
    )
    refused(lambda: unmatched(firm, item_number=""), CHECK, constraint="sales_unmatched_names_a_product")
    refused(lambda: unmatched(firm, ship_to_name=""), CHECK, constraint="sales_unmatched_names_a_customer")
    refused(lambda: unmatched(firm, suggestions="[]"), CHECK, constraint="sales_unmatched_suggestions_object")
    pk = unmatched(firm, product_id=product)
    assert value("sales_unmatched", pk, "principal_id") == firm.principal_a.pk


def test_aliases_are_unique_per_distributor_by_folded_value(firm: Firm) -> None:
    def alias(text: str) -> Any:
        return run(
            firm.manager,
            "INSERT INTO sales_customer_alias (tenant_id, distributor_id, kind, value, value_key, customer_id)"
            " VALUES (%s, %s, 'ship_to_name', %s, '', %s) RETURNING value_key",
            [firm.tenant.pk, firm.distributor.pk, text, firm.customer.pk],
        )[0][0]

    assert alias("Joe's  DINER") == "joe's diner"
    refused(lambda: alias("joe's diner"), UNIQUE, constraint="sales_alias_unique_per_distributor")


@pytest.mark.parametrize("mapping", ["[]", '{"A": 1}', '{"A": "quantity"}', '{"A": ["cases"]}'])
def test_a_saved_mapping_is_an_object_of_header_to_sales_field(firm: Firm, mapping: str) -> None:
    sql = (
        "INSERT INTO sales_column_mapping (tenant_id, distributor_id, mapping, period_kind)"
        " VALUES (%s, %s, %s, 'week') RETURNING id"
    )
    refused(
        lambda: run(firm.manager, sql, [firm.tenant.pk, firm.distributor.pk, mapping]),
        CHECK,
        constraint="sales_column_mapping_shape",
    )
    run(firm.manager, sql, [firm.tenant.pk, firm.distributor.pk, '{"Cajas": "cases", "Notas": null}'])
