"""`manage.py bench_import [--rows N]`: imports N new organizations (a generated CSV) into the generated firm as
its admin, the way the import job does, and prints the time and rows/s of a dry run, the real run and a
re-import of the same file (every row unchanged)."""

from __future__ import annotations

import csv
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


class Command(BaseCommand):
    help = "Benchmark the organizations import on the generated firm: dry run, real run, re-import."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=50_000, help="Organizations in the file (50,000).")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.ALL_OR_NOTHING)

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
        content = organizations_csv(options["rows"], uuid.uuid4().hex[:8])
        self.stdout.write(
            f"{tenant.name}: {existing:,} organizations; a file of {options['rows']:,} rows ({len(content):,} bytes)."
        )
        for label, dry_run in (("dry run", True), ("import", False), ("re-import", False)):
            checked = time.monotonic()
            with rls.acting_as(admin_id) as context:
                record = services.import_create(
                    context=context,
                    content=content,
                    file_name="bench.csv",
                    kind=ImportKind.ORGANIZATIONS,
                    dry_run=dry_run,
                    mode=options["mode"],
                    defer=False,
                )
            upload = time.monotonic() - checked
            reset_queries()
            started = time.monotonic()
            with CaptureQueriesContext(connection) as queries:
                done = services.import_run(import_id=record.pk, user_id=admin_id)
            seconds = time.monotonic() - started
            summary = done.summary
            self.stdout.write(
                f"{label:>9}: {seconds:6.1f} s, {options['rows'] / seconds:8,.0f} rows/s, {len(queries):,} queries"
                f" — {done.state}: {summary.get('create')} create, {summary.get('update')} update,"
                f" {summary.get('unchanged')} unchanged, {summary.get('error')} error"
                f" (the upload's checks and storing the file: {upload:.1f} s)"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"Peak resident memory of this process: {peak:,.0f} MB.")
