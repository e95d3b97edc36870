"""`manage.py bench_import [--rows N] [--kind organizations|sales]`: imports a generated CSV of N rows into the
generated firm as its admin, the way the import job does, and prints the time and rows/s of a dry run, the
real run and a re-import of the same file. Organizations: N new ones, then every row unchanged. Sales: a
quarter of weekly depletions of the firm's biggest distributor (item numbers, a few SKUs only, ship-to
names as the distributor spells them, 1% of rows no one recognises), then the same periods replaced."""

from __future__ import annotations

import csv
import datetime
import io
import random
import resource
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from crm import rls
from imports import services
from imports.models import ImportKind, ImportMode
from workbench.bench.scenario import generated_tenant

SEGMENTS = ("fine_dining", "casual_dining", "qsr", "healthcare", "education", "hotel", "cafe", "bar")
STATES = ("CA", "NY", "TX", "IL", "WA", "FL", "GA", "OR")


def organizations_csv(rows: int, tag: str, seed: int = 1) -> bytes:
    """`rows` customers and prospects as a broker's export would have them: headers by their usual names."""
    generator = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "Account Name",
            "Type",
            "Priority",
            "Industry",
            "Phone",
            "E-mail",
            "Website",
            "Address",
            "City",
            "State",
            "Zip",
            "Country",
            "Notes",
        ]
    )
    for number in range(rows):
        slug = f"{tag}-{number}"
        writer.writerow(
            [
                f"Bench Import {tag} {number}",
                generator.choice(("Customer", "Prospect")),
                generator.choice("ABCD"),
                generator.choice(SEGMENTS),
                f"555-{generator.randrange(1000, 9999)}",
                f"orders@{slug}.example",
                f"https://{slug}.example",
                f"{generator.randrange(1, 9999)} Main St",
                generator.choice(("Springfield", "Riverside", "Fairview", "Madison")),
                generator.choice(STATES),
                f"{generator.randrange(10000, 99999)}",
                "US",
                "" if generator.random() < 0.7 else "Imported from the old CRM.",
            ]
        )
    return out.getvalue().encode()


def sales_csv(
    rows: int,
    items: list[tuple[str, str, str]],
    customers: list[str],
    last_week: datetime.date,
    weeks: int = 13,
    seed: int = 1,
) -> bytes:
    """A distributor's depletion report: `rows` lines over `weeks` weeks ending `last_week` (week-ending
    Saturdays), each an item (distributor item number, manufacturer SKU, description) sold to a ship-to
    customer; most lines by item number, 3% by SKU alone, names in capitals as distributors print them, and
    1% of lines an item or a customer no one recognises (kept aside)."""
    generator = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "Week Ending",
            "Item #",
            "Mfr Item",
            "Item Description",
            "Ship To #",
            "Ship To Name",
            "Cases",
            "Sales $",
        ]
    )
    pairs = max(1, rows // weeks)
    points = [(generator.choice(items), generator.choice(customers)) for _ in range(pairs)]
    saturdays = [last_week - datetime.timedelta(weeks=n) + datetime.timedelta(days=5) for n in range(weeks)]
    for number in range(rows):
        (item_number, sku, description), customer = points[number % pairs]
        week = saturdays[(number // pairs) % weeks]
        roll = generator.random()
        if roll < 0.005:
            item_number, sku, description = f"X{number}", "", f"Unlisted item {number % 50}"
        elif roll < 0.01:
            customer = f"Walk-in account {number % 50}"
        elif roll < 0.04:
            item_number = ""
        cases = generator.randint(1, 20)
        writer.writerow(
            [
                f"{week.month}/{week.day}/{week.year}",
                item_number,
                sku,
                description,
                "",
                customer.upper() if generator.random() < 0.5 else customer,
                cases,
                f"{cases * generator.uniform(18, 65):,.2f}",
            ]
        )
    return out.getvalue().encode()


class Command(BaseCommand):
    help = "Benchmark the organizations import on the generated firm: dry run, real run, re-import."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=50_000, help="Organizations in the file (50,000).")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.ALL_OR_NOTHING)
        parser.add_argument(
            "--kind",
            choices=(ImportKind.ORGANIZATIONS, ImportKind.SALES),
            default=ImportKind.ORGANIZATIONS,
            help="What the file holds: new organizations, or a distributor's sales (issue 19: 100k rows ≤ 60 s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = generated_tenant()
        if tenant is None:
            raise CommandError("No generated firm here: run `manage.py generate_data --scale 20` first.")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT user_id FROM membership WHERE tenant_id = %s AND role = 'admin' ORDER BY user_id LIMIT 1",
                [tenant.pk],
            )
            row = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM organization WHERE tenant_id = %s", [tenant.pk])
            existing = cursor.fetchone()[0]
        if row is None:
            raise CommandError("The generated firm has no admin.")
        admin_id = row[0]
        kind = options["kind"]
        import_options: dict[str, Any] = {}
        if kind == ImportKind.SALES:
            distributor_id, content = self._sales_file(tenant.pk, options["rows"])
            import_options = {"distributor": distributor_id, "period_kind": "week", "currency": "USD"}
        else:
            content = organizations_csv(options["rows"], uuid.uuid4().hex[:8])
            self.stdout.write(f"{tenant.name}: {existing:,} organizations.")
        self.stdout.write(f"A file of {options['rows']:,} rows ({len(content):,} bytes).")
        for label, dry_run in (("dry run", True), ("import", False), ("re-import", False)):
            checked = time.monotonic()
            with rls.acting_as(admin_id) as context:
                record = services.import_create(
                    context=context,
                    content=content,
                    file_name="bench.csv",
                    kind=kind,
                    dry_run=dry_run,
                    mode=options["mode"],
                    options=import_options,
                    defer=False,
                )
            upload = time.monotonic() - checked
            reset_queries()
            started = time.monotonic()
            with CaptureQueriesContext(connection) as queries:
                done = services.import_run(import_id=record.pk, user_id=admin_id)
            seconds = time.monotonic() - started
            summary = done.summary
            replaced = (
                f", {summary.get('replaced_facts', 0):,} facts replaced" if kind == ImportKind.SALES else ""
            )
            self.stdout.write(
                f"{label:>9}: {seconds:6.1f} s, {options['rows'] / seconds:8,.0f} rows/s, {len(queries):,} queries"
                f" — {done.state}: {summary.get('create')} create, {summary.get('update')} update,"
                f" {summary.get('unchanged')} unchanged, {summary.get('unmatched')} unmatched,"
                f" {summary.get('error')} error{replaced}"
                f" (the upload's checks and storing the file: {upload:.1f} s)"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"Peak resident memory of this process: {peak:,.0f} MB.")

    def _sales_file(self, tenant_id: int, rows: int) -> tuple[int, bytes]:
        """The firm's distributor carrying the most items, and a file of its sales to the customers it
        serves, ending the week before the generated sales' last."""
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT pd.distributor_id, o.name, count(*) FROM product_distributor pd
                     JOIN organization o ON o.id = pd.distributor_id
                    WHERE pd.tenant_id = %s AND pd.deleted_at IS NULL AND pd.vendor_item_number <> ''
                    GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 1""",
                [tenant_id],
            )
            found = cursor.fetchone()
            if found is None:
                raise CommandError("The generated firm's distributors have no item numbers.")
            distributor_id, distributor_name, _ = found
            cursor.execute(
                """SELECT pd.vendor_item_number, p.sku, p.name FROM product_distributor pd
                     JOIN product p ON p.id = pd.product_id
                    WHERE pd.tenant_id = %s AND pd.distributor_id = %s AND pd.deleted_at IS NULL
                      AND pd.vendor_item_number <> '' AND p.deleted_at IS NULL""",
                [tenant_id, distributor_id],
            )
            items = [(number, sku, name) for number, sku, name in cursor.fetchall()]
            cursor.execute(
                """SELECT c.name FROM customer_distributor cd JOIN organization c ON c.id = cd.customer_id
                    WHERE cd.tenant_id = %s AND cd.distributor_id = %s AND cd.deleted_at IS NULL
                      AND c.deleted_at IS NULL""",
                [tenant_id, distributor_id],
            )
            customers = [name for (name,) in cursor.fetchall()]
            cursor.execute(
                "SELECT max(period_start), count(*) FROM sales_fact WHERE tenant_id = %s", [tenant_id]
            )
            last, facts = cursor.fetchone()
        if not customers:
            raise CommandError(f"{distributor_name} serves no customers in the generated firm.")
        last_week = (last or datetime.date.today()) - datetime.timedelta(weeks=1)
        self.stdout.write(
            f"{distributor_name} (id {distributor_id}): {len(items):,} items, {len(customers):,} customers;"
            f" the firm has {facts:,} sales facts; the file's weeks end {last_week + datetime.timedelta(days=5)}."
        )
        return distributor_id, sales_csv(rows, items, customers, last_week)
