"""Confirming a kept row: the customer's alias (or the product's item number) is learned, every kept row
of the distributor with the same ship-to (or item) gets it, rows with both become facts, and the next file
recognises them."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from products.models import ProductDistributor
from sales.models import CustomerAlias, SalesFact, SalesUnmatched
from tests.conftest import Firm
from tests.sales.support import build, run_sales, sales_file

pytestmark = pytest.mark.django_db

URL = "/api/v1/sales/unmatched/"


def test_confirming_a_customer_learns_the_alias_and_applies_every_kept_row_of_that_ship_to(
    firm: Firm, api: Any
) -> None:
    world = build(firm)
    run_sales(
        firm.manager,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "0042", "CORNER CAFE #7", "4", "40"],
            ["2026-03-09", "1001", "", "", "0042", "CORNER CAFE #7", "5", ""],
            ["2026-03-09", "5555", "", "MYSTERY", "0042", "CORNER CAFE #7", "1", ""],  # product unknown too
            ["2026-03-09", "1001", "", "", "0099", "Other Place", "2", ""],  # another ship-to: left
        ),
    )
    kept = SalesUnmatched.objects.order_by("id")
    assert kept.count() == 4
    first = kept.first()
    assert first is not None
    assert first.suggestions["customers"][0]["id"] == world.cafe.pk  # "corner", "cafe" shared
    response = api(firm.manager).post(f"{URL}{first.pk}/confirm/", {"customer": world.cafe.pk})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["rows_matched"] == 3 and len(body["facts"]) == 2
    alias = CustomerAlias.objects.get(pk=body["alias"])
    assert (alias.kind, alias.value, alias.customer_id, alias.created_by_id) == (
        "ship_to_number",
        "0042",
        world.cafe.pk,
        firm.manager.pk,
    )
    assert {(f.period_start, f.cases, f.dollars) for f in SalesFact.objects.all()} == {
        (datetime.date(2026, 3, 2), Decimal("4.000"), Decimal("40.00")),
        (datetime.date(2026, 3, 9), Decimal("5.000"), None),
    }
    left = SalesUnmatched.objects.order_by("id")
    assert [(row.ship_to_number, row.customer_id) for row in left] == [
        ("0042", world.cafe.pk),
        ("0099", None),
    ]
    # The next file recognises the ship-to by its alias.
    record = run_sales(
        firm.manager, firm.distributor, sales_file(["2026-03-16", "1001", "", "", "42", "Renamed", "1", ""])
    )
    assert record.summary["create"] == 0 and record.summary["unmatched"] == 1  # "42" is not "0042"
    record = run_sales(
        firm.manager, firm.distributor, sales_file(["2026-03-16", "1001", "", "", "0042", "Renamed", "1", ""])
    )
    assert record.summary["create"] == 1


def test_confirming_a_product_learns_the_distributors_item_number(firm: Firm, api: Any) -> None:
    world = build(firm)
    run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["2026-03-02", "8888", "", "SALSA VERDE 6/1GAL", "", "Joe's Diner", "4", ""],
            ["2026-03-09", "8888", "", "SALSA VERDE 6/1GAL", "", "Joe's Diner", "1", ""],
        ),
    )
    kept = SalesUnmatched.objects.order_by("id").first()
    assert kept is not None and kept.customer_id == world.diner.pk
    assert kept.suggestions["products"][0]["id"] == world.salsa.pk
    # No product recognised: the row is the importer's and the admins' alone.
    assert api(firm.manager).post(f"{URL}{kept.pk}/confirm/", {"product": world.salsa.pk}).status_code == 404
    response = api(firm.admin).post(f"{URL}{kept.pk}/confirm/", {"product": world.salsa.pk})
    assert response.status_code == 200, response.json()
    assert response.json()["rows_matched"] == 2
    item = ProductDistributor.objects.get(pk=response.json()["product_distributor"])
    assert (item.product_id, item.distributor_id, item.vendor_item_number) == (
        world.salsa.pk,
        firm.distributor.pk,
        "8888",
    )
    assert SalesFact.objects.filter(product=world.salsa).count() == 2
    assert not SalesUnmatched.objects.exists()


def test_confirm_refuses_what_the_caller_cannot_see_or_write(firm: Firm, api: Any) -> None:
    world = build(firm)
    run_sales(firm.admin, firm.distributor, sales_file(["2026-03-02", "2001", "", "", "", "Nobody", "4", ""]))
    kept = SalesUnmatched.objects.get()  # principal B's product: not the manager's book
    assert api(firm.manager).post(f"{URL}{kept.pk}/confirm/", {"customer": world.diner.pk}).status_code == 404
    response = api(firm.other_manager).post(f"{URL}{kept.pk}/confirm/", {})
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
    response = api(firm.other_manager).post(f"{URL}{kept.pk}/confirm/", {"customer": firm.principal_a.pk})
    assert response.status_code == 400, response.json()
    viewer = api(firm.viewer).post(f"{URL}{kept.pk}/confirm/", {"customer": world.diner.pk})
    assert viewer.status_code in (403, 404)
    assert (
        api(firm.other_manager).post(f"{URL}{kept.pk}/confirm/", {"customer": world.diner.pk}).status_code
        == 200
    )
    assert SalesFact.objects.filter(principal=firm.principal_b).count() == 1
