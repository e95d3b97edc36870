"""Importing a distributor's sales report: products recognised by the distributor's item number, else by
SKU; customers by alias, else by folded name; the rest kept aside; a period re-imported replaces the
distributor's period; a mapping given is saved and reused."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from tests.conftest import Firm
from tests.sales.support import build, run_sales, sales_file

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 3, 2)


def facts(firm: Firm) -> dict[tuple[int, int, datetime.date], Decimal]:
    return {
        (fact.product_id, fact.customer_id, fact.period_start): fact.cases
        for fact in SalesFact.objects.filter(tenant=firm.tenant)
    }


def test_products_by_item_number_then_sku_and_customers_by_folded_name(firm: Firm) -> None:
    world = build(firm)
    record = run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["03/07/2026", "1001", "", "PIZZA 12", "", "JOE'S  DINER", "4", "$120.00"],  # item number; name
            ["2026-03-05", "", "sv-1", "SALSA", "", "joe's diner", "2", ""],  # SKU, folded case
            ["2026-03-02", "2001", "", "COLA", "", "Joe’s Diner", "(1)", ""],  # a credit; ’ is not '
        ),
    )
    assert record.state == "succeeded", (record.error, record.first_errors)
    assert record.summary["create"] == 2 and record.summary["unmatched"] == 1
    assert facts(firm) == {
        (world.pizza.pk, world.diner.pk, MONDAY): Decimal("4.000"),
        (world.salsa.pk, world.diner.pk, MONDAY): Decimal("2.000"),
    }
    pizza = SalesFact.objects.get(product=world.pizza)
    assert (pizza.dollars, pizza.currency, pizza.principal_id) == (
        Decimal("120.00"),
        "USD",
        firm.principal_a.pk,
    )
    assert (pizza.source_import_id, pizza.source_row, pizza.period_kind) == (record.pk, 2, "week")
    kept = SalesUnmatched.objects.get()
    assert (kept.product_id, kept.customer_id, kept.principal_id) == (
        world.soda.pk,
        None,
        firm.principal_b.pk,
    )
    assert kept.cases == Decimal("-1.000") and kept.ship_to_name == "Joe’s Diner"
    assert kept.suggestions["customers"][0]["id"] == world.diner.pk


def test_a_saved_alias_recognises_the_ship_to_number_before_the_name(firm: Firm) -> None:
    world = build(firm)
    CustomerAlias.objects.create(
        tenant=firm.tenant,
        distributor=firm.distributor,
        kind="ship_to_number",
        value="00042",
        customer=world.cafe,
    )
    record = run_sales(
        firm.admin,
        firm.distributor,
        sales_file(["2026-03-03", "1001", "", "", "00042", "Joe's Diner", "3", ""]),
    )
    assert record.summary["create"] == 1, record.first_errors
    assert facts(firm) == {(world.pizza.pk, world.cafe.pk, MONDAY): Decimal("3.000")}


def test_rows_of_one_product_customer_and_week_are_summed(firm: Firm) -> None:
    world = build(firm)
    record = run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "", "Joe's Diner", "1", "10"],
            ["2026-03-08", "1001", "", "", "", "Joe's Diner", "2.5", "25"],
        ),
    )
    assert record.summary["create"] == 2
    fact = SalesFact.objects.get()
    assert (fact.cases, fact.dollars) == (Decimal("3.500"), Decimal("35.00"))
    assert facts(firm) == {(world.pizza.pk, world.diner.pk, MONDAY): Decimal("3.500")}


def test_a_period_imported_again_replaces_the_distributors_period_and_keeps_the_others(firm: Firm) -> None:
    world = build(firm)
    first = sales_file(
        ["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""],
        ["2026-03-09", "1001", "", "", "", "Joe's Diner", "5", ""],
        ["2026-03-09", "7777", "", "", "", "Joe's Diner", "1", ""],  # kept aside: unknown item
    )
    run_sales(firm.admin, firm.distributor, first)
    other = f_distributor(firm)
    run_sales(firm.admin, other, sales_file(["2026-03-09", "", "PZ-12", "", "", "Joe's Diner", "9", ""]))
    assert SalesUnmatched.objects.count() == 1
    again = run_sales(
        firm.admin, firm.distributor, sales_file(["2026-03-10", "1001", "", "", "", "Joe's Diner", "6", ""])
    )
    assert again.summary["replaced_facts"] == 1 and again.summary["replaced_unmatched"] == 1
    assert again.summary["periods"] == ["2026-03-09"]
    by_distributor = {
        (fact.distributor_id, fact.period_start): fact.cases
        for fact in SalesFact.objects.filter(product=world.pizza)
    }
    assert by_distributor == {
        (firm.distributor.pk, MONDAY): Decimal("4.000"),  # another period: untouched
        (firm.distributor.pk, datetime.date(2026, 3, 9)): Decimal("6.000"),  # replaced, not 11
        (other.pk, datetime.date(2026, 3, 9)): Decimal("9.000"),  # another distributor: untouched
    }
    assert not SalesUnmatched.objects.exists()


def f_distributor(firm: Firm):  # type: ignore[no-untyped-def]
    from tests import factories as f

    return f.DistributorFactory(tenant=firm.tenant, name="Second Foods")


def test_a_dry_run_writes_nothing_and_reports_what_each_row_would_do(firm: Firm) -> None:
    build(firm)
    record = run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""],
            ["2026-03-02", "9999", "", "", "", "Nobody", "4", ""],
        ),
        dry_run=True,
        mapping={"Sales $": None},
    )
    assert record.state == "succeeded"
    assert [entry[1] for entry in record.report] == ["create", "unmatched"]
    assert [entry[2] for entry in record.report] == [None, None]
    assert not SalesFact.objects.exists() and not SalesUnmatched.objects.exists()
    assert not ColumnMapping.objects.exists()


def test_rows_in_error_are_named_and_all_or_nothing_writes_nothing(firm: Firm) -> None:
    build(firm)
    record = run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""],
            ["someday", "1001", "", "", "", "Joe's Diner", "lots", "12"],
            ["2026-03-02", "", "", "", "", "Joe's Diner", "1", ""],
        ),
    )
    assert record.state == "failed"
    assert [(e["row"], e["column"]) for e in record.first_errors] == [
        (3, "Week Ending"),
        (3, "Cases"),
        (4, "Item #"),
    ]
    assert not SalesFact.objects.exists()


def test_a_mapping_given_is_saved_and_the_next_file_of_that_distributor_uses_it(firm: Firm) -> None:
    world = build(firm)
    header = ["Mes", "Articulo", "Cliente", "Cajas"]
    mapping = {"Mes": "period", "Articulo": "item_number", "Cliente": "ship_to_name", "Cajas": "cases"}
    content = sales_file(["2026-03", "1001", "Joe's Diner", "7"], header=header)
    first = run_sales(firm.manager, firm.distributor, content, mapping=mapping, period_kind="month")
    assert first.state == "succeeded", (first.error, first.first_errors)
    saved = ColumnMapping.objects.get(distributor=firm.distributor)
    assert (saved.mapping, saved.period_kind) == (mapping, "month")
    second = run_sales(
        firm.manager, firm.distributor, sales_file(["2026-04", "1001", "Joe's Diner", "8"], header=header)
    )
    assert second.state == "succeeded", (second.error, second.first_errors)
    assert second.mapping == mapping and second.options["period_kind"] == "month"
    assert facts(firm) == {
        (world.pizza.pk, world.diner.pk, datetime.date(2026, 3, 1)): Decimal("7.000"),
        (world.pizza.pk, world.diner.pk, datetime.date(2026, 4, 1)): Decimal("8.000"),
    }


def test_a_manager_replaces_and_writes_only_their_books_facts(firm: Firm) -> None:
    world = build(firm)
    rows = [
        ["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""],  # principal A: the manager's book
        ["2026-03-02", "2001", "", "COLA", "", "Joe's Diner", "3", ""],  # principal B: not theirs
    ]
    run_sales(firm.admin, firm.distributor, sales_file(*rows))
    assert SalesFact.objects.count() == 2
    record = run_sales(firm.manager, firm.distributor, sales_file(rows[0]))
    assert record.summary["replaced_facts"] == 1  # principal B's fact is out of their reach: kept
    assert facts(firm) == {
        (world.pizza.pk, world.diner.pk, MONDAY): Decimal("4.000"),
        (world.soda.pk, world.diner.pk, MONDAY): Decimal("3.000"),
    }
    # A row of a product they cannot see is kept aside, for them and the admins only.
    record = run_sales(firm.manager, firm.distributor, sales_file(rows[1]))
    kept = SalesUnmatched.objects.get()
    assert (kept.product_id, kept.principal_id, kept.created_by_id) == (None, None, firm.manager.pk)


def test_a_sales_import_without_its_distributor_is_refused_before_it_is_stored(firm: Firm) -> None:
    from crm import rls
    from imports import services
    from imports.models import Import
    from imports.parsing import FileRefused

    with rls.acting_as(firm.admin.pk) as context, pytest.raises(FileRefused) as refused:
        services.import_create(
            context=context, content=sales_file(), file_name="s.csv", kind="sales", defer=False
        )
    assert refused.value.field == "distributor"
    assert not Import.objects.exists()
