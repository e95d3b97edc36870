"""The demo firm's distributor sales (the sales app, ADR 0034): a year of weekly depletions (each operator
buying a few of the products its distributors carry, at a steady rate with noise; some start buying during
the year, some stop), and last week's report of the busiest distributor imported the way a broker imports
it: a CSV in that distributor's layout through the import job's services, as the admin, so its column
mapping is saved, its row report kept, and the few rows nobody recognises (a new account, a misspelt one,
an item not in the catalogue) wait with suggestions for someone to confirm. `make run` thus shows the
sell-through reports, the dashboard's sell-through and the scorecard's with real figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal
from typing import Any

from crm import rls
from imports import services as imports
from imports.models import ImportKind, ImportState
from opportunities.models import OPEN_STAGES, OpportunityProduct
from organizations.models import CustomerDistributor, Organization
from products.models import Product, ProductDistributor
from sales.models import PeriodKind, SalesFact
from sales.services import sales_import_options

# Their own generator: adding sales leaves every other demo row as it was.
SALES_SEED = "2026-sales"
WEEKS = 52
# The busiest distributor's layout, as its report prints it, and what each column is.
LAYOUT = {
    "Week Ending": "period",
    "SUPC": "item_number",
    "Mfr Item": "sku",
    "Item Description": "description",
    "Ship To #": "ship_to_number",
    "Ship To Name": "ship_to_name",
    "Cases Shipped": "cases",
    "Ext Sales $": "dollars",
}


def add_demo_sales(builder: Any) -> dict[str, Any]:
    """Sales facts for the demo firm built by workbench.demo's builder, and one imported weekly report.
    Returns what the import did (its id and summary)."""
    rng = random.Random(SALES_SEED)
    tenant = builder.tenant
    carried: dict[int, list[tuple[Product, str]]] = {}
    codes = ProductDistributor.objects.filter(tenant=tenant).select_related("product").order_by("id")
    for code in codes:
        carried.setdefault(code.distributor_id, []).append((code.product, code.vendor_item_number))
    served: dict[int, list[int]] = {}
    for customer_id, distributor_id in (
        CustomerDistributor.objects.filter(tenant=tenant)
        .order_by("id")
        .values_list("customer", "distributor")
    ):
        served.setdefault(customer_id, []).append(distributor_id)
    last_week = builder.today - dt.timedelta(days=builder.today.weekday() + 7)  # the last whole ISO week
    weeks = [last_week - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]

    # (distributor, product, item number, customer) → cases per week
    points: list[tuple[int, Product, str, Organization, dict[dt.date, int], float]] = []
    for operator in builder.operators:
        for distributor_id in served.get(operator.pk, []):
            items = carried.get(distributor_id, [])
            for product, item_number in rng.sample(items, min(len(items), rng.randint(1, 4))):
                points.append(_point(rng, weeks, distributor_id, product, item_number, operator))
    # Some open deals are for a product the account already buys, or bought and stopped: the
    # buying-opportunities report's placements to close and accounts to win back.
    deal_lines = OpportunityProduct.objects.filter(
        tenant=tenant, opportunity__stage__in=OPEN_STAGES, opportunity__deleted_at__isnull=True
    ).select_related("opportunity", "product")
    operators = {operator.pk: operator for operator in builder.operators}
    taken = {(point[0], point[1].pk, point[3].pk) for point in points}
    for line in deal_lines.order_by("id"):
        customer = operators.get(line.opportunity.customer_id)
        if customer is None or rng.random() < 0.6:
            continue
        for distributor_id in served.get(customer.pk, []):
            numbers = [
                number for product, number in carried.get(distributor_id, []) if product == line.product
            ]
            if numbers and (distributor_id, line.product_id, customer.pk) not in taken:
                taken.add((distributor_id, line.product_id, customer.pk))
                shape = "stopped" if rng.random() < 0.4 else "buying"
                points.append(_point(rng, weeks, distributor_id, line.product, numbers[0], customer, shape))
                break

    # The busiest distributor's last week comes in as its report; everything else is already loaded.
    volume: dict[int, int] = {}
    for distributor_id, _, _, _, sold, _ in points:
        volume[distributor_id] = volume.get(distributor_id, 0) + sum(sold.values())
    reporting = max(volume, key=lambda d: (volume[d], -d))
    facts = [
        SalesFact(
            tenant=tenant,
            distributor_id=distributor_id,
            product=product,
            customer=operator,
            principal_id=product.principal_id,
            period_kind=PeriodKind.WEEK,
            period_start=week,
            cases=Decimal(cases),
            dollars=(Decimal(cases) * Decimal(str(round(price, 2)))).quantize(Decimal("0.01")),
            currency="USD",
        )
        for distributor_id, product, _, operator, sold, price in points
        for week, cases in sold.items()
        if not (distributor_id == reporting and week == last_week)
    ]
    SalesFact.objects.bulk_create(facts, batch_size=2000)

    lines = [
        (item_number, product, operator, sold[last_week], price)
        for distributor_id, product, item_number, operator, sold, price in points
        if distributor_id == reporting and last_week in sold
    ]
    return _import_last_week(builder, reporting, last_week, lines, rng)


def _point(
    rng: random.Random,
    weeks: list[dt.date],
    distributor_id: int,
    product: Product,
    item_number: str,
    operator: Organization,
    shape: str = "",
) -> tuple[int, Product, str, Organization, dict[dt.date, int], float]:
    """A customer buying a product through a distributor: a steady rate with noise, most weeks; some points
    start during the year (gained: a few in the last quarter), some stop (lost)."""
    rate, price = rng.uniform(1, 12), rng.uniform(18, 65)
    start, stop = 0, WEEKS
    if not shape:
        roll = rng.random()
        shape = "gained" if roll < 0.1 else "new" if roll < 0.18 else "stopped" if roll < 0.33 else ""
    if shape == "gained":
        start = rng.randrange(WEEKS - 12, WEEKS - 2)  # a point of distribution gained lately
    elif shape == "new":
        start = rng.randrange(WEEKS - 12)  # gained earlier in the year
    elif shape == "stopped":
        stop = rng.randrange(WEEKS // 2, WEEKS - 2)  # one lost
    sold = {
        week: max(1, round(rate * rng.uniform(0.5, 1.5)))
        for week in weeks[start:stop]
        if rng.random() >= 0.15  # no order that week
    }
    return distributor_id, product, item_number, operator, sold, price


def _import_last_week(
    builder: Any,
    distributor_id: int,
    week: dt.date,
    lines: list[tuple[str, Product, Organization, int, float]],
    rng: random.Random,
) -> dict[str, Any]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(LAYOUT))
    ending = week + dt.timedelta(days=5)  # the report's week ends on the Saturday
    stamp = f"{ending.month}/{ending.day}/{ending.year}"
    for item_number, product, operator, cases, price in lines:
        name = operator.name.upper() if rng.random() < 0.5 else operator.name
        writer.writerow(
            [stamp, item_number, product.sku, product.name.upper(), "", name, cases, f"{cases * price:,.2f}"]
        )
    known, customer = lines[0][0], lines[-1][2]
    # What a distributor's report really holds: an account the broker does not have, one misspelt, and an
    # item the catalogue lacks (kept aside, with suggestions).
    writer.writerow([stamp, known, "", "", "88120", "GULF COAST CATERING CO", 3, "96.00"])
    writer.writerow([stamp, known, "", "", "", customer.name.upper()[:-1], 2, "64.00"])
    writer.writerow([stamp, "7770001", "", "CAJUN SEASONING 6/2LB", "", customer.name, 1, "41.50"])
    name = Organization.objects.get(pk=distributor_id).name
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    with rls.acting_as(builder.admin.pk) as context:
        used, options = sales_import_options(
            context=context, distributor_id=distributor_id, mapping=LAYOUT, period_kind=PeriodKind.WEEK
        )
        record = imports.import_create(
            context=context,
            content=out.getvalue().encode(),
            file_name=f"{slug}-depletions-{ending.isoformat()}.csv",
            kind=ImportKind.SALES,
            mapping=used,
            options=options,
            defer=False,
        )
    done = imports.import_run(import_id=record.pk, user_id=builder.admin.pk)
    if done.state != ImportState.SUCCEEDED:
        raise RuntimeError(f"The demo's sales import failed: {done.error or done.first_errors}")
    return {"import": done.pk, **done.summary}
