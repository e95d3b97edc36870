"""A small sales world: a distributor's catalogue (item numbers, SKUs), customers with aliases and names,
and files of its sales report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm import rls
from imports import services
from imports.models import Import
from organizations.models import Organization
from products.models import Product
from sales.services import sales_import_options
from tests import factories as f
from tests.conftest import Firm
from tests.imports.support import csv_bytes

HEADER = [
    "Week Ending",
    "Item #",
    "Mfr Item",
    "Item Description",
    "Ship To #",
    "Ship To Name",
    "Cases",
    "Sales $",
]


@dataclass
class SalesWorld:
    firm: Firm
    pizza: Product  # principal A, Sysco item 1001
    salsa: Product  # principal A, no item number: recognised by SKU
    soda: Product  # principal B, item 2001
    diner: Organization  # a customer recognised by name
    cafe: Organization  # a customer with no matching name


def build(firm: Firm) -> SalesWorld:
    tenant = firm.tenant
    pizza = f.ProductFactory(tenant=tenant, principal=firm.principal_a, name="Frozen Pizza 12in", sku="PZ-12")
    salsa = f.ProductFactory(tenant=tenant, principal=firm.principal_a, name="Salsa Verde", sku="SV-1")
    soda = f.ProductFactory(tenant=tenant, principal=firm.principal_b, name="Cola 24pk", sku="COLA-24")
    f.ProductDistributorFactory(
        tenant=tenant, product=pizza, distributor=firm.distributor, vendor_item_number="1001"
    )
    f.ProductDistributorFactory(
        tenant=tenant, product=soda, distributor=firm.distributor, vendor_item_number="2001"
    )
    diner = f.CustomerFactory(tenant=tenant, name="Joe's Diner")
    cafe = f.CustomerFactory(tenant=tenant, name="Corner Cafe Holdings")
    return SalesWorld(firm, pizza, salsa, soda, diner, cafe)


def sales_file(*rows: list[Any], header: list[str] | None = None) -> bytes:
    return csv_bytes([header or HEADER, *rows])


def run_sales(user: Any, distributor: Organization, content: bytes, **options: Any) -> Import:
    """A sales import started as `user` (without the job) and run as the job would."""
    mapping = options.pop("mapping", {})
    period_kind = options.pop("period_kind", "")
    with rls.acting_as(user.pk) as context:
        used, sales_options = sales_import_options(
            context=context, distributor_id=distributor.pk, mapping=mapping, period_kind=period_kind
        )
        record = services.import_create(
            context=context,
            content=content,
            file_name="sales.csv",
            kind="sales",
            mapping=used,
            options=sales_options,
            defer=False,
            **options,
        )
    return services.import_run(import_id=record.pk, user_id=user.pk)
