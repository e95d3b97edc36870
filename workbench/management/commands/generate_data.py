"""`manage.py generate_data --scale N [--tenants T] [--seed S]`: realistic seeded data, fast, for load tests."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import Tenant
from workbench.datagen import GENERATED_PASSWORD, SCALE_ONE, GenerationError, generate


class Command(BaseCommand):
    help = (
        "Fill the database with generated firms through COPY. Scale 1 is one firm: "
        f"{SCALE_ONE.managers} managers, {SCALE_ONE.principals} principals, {SCALE_ONE.distributors} "
        f"distributors, {SCALE_ONE.operators:,} customers and prospects, {SCALE_ONE.contacts:,} contacts, "
        f"{SCALE_ONE.products:,} products, {SCALE_ONE.opportunities:,} opportunities and "
        f"{SCALE_ONE.interactions:,} interactions over three years. --tenants splits the scale over firms. "
        "Needs a superuser connection; refuses a database that already has firms unless DEBUG or --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, required=True, help="Size: 1 = one mid-sized firm; 0.01 for tests."
        )
        parser.add_argument("--tenants", type=int, default=1, help="Firms sharing the scale (default 1).")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="The day the data ends (default today): with the seed, fixes every date.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off on a database that has firms."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale, tenants = options["scale"], options["tenants"]
        if scale <= 0 or tenants < 1:
            raise CommandError("--scale must be positive and --tenants at least 1.")
        if not settings.DEBUG and not options["force"] and Tenant.objects.exists():
            raise CommandError(
                "This database already has firms and DEBUG is off: generated data is for test databases."
                " Pass --force to add it anyway."
            )
        started = time.perf_counter()
        self.stderr.write(f"Generating scale {scale:g} over {tenants} firm(s), seed {options['seed']}…")
        try:
            report = generate(
                scale=scale,
                tenants=tenants,
                seed=options["seed"],
                as_of=options["as_of"],
                progress=self.stderr.write,
            )
        except GenerationError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {report.rows:,} rows in {len(report.tenant_ids)} firm(s) in {elapsed:.1f} s"
                f" (load {report.load_seconds:.1f} s, checks {report.check_seconds:.1f} s,"
                f" ANALYZE {report.analyze_seconds:.1f} s); data as of {report.as_of}."
            )
        )
        for table, count in report.counts.items():
            self.stdout.write(f"  {table:<28} {count:>12,}")
        self.stdout.write(f"  {'total':<28} {report.rows:>12,}")
        self.stdout.write(f"Integrity: {len(report.checks)} checks, 0 violations.")
        ids = report.tenant_ids
        span = f"{ids[0]}" if len(ids) == 1 else f"{ids[0]}–{ids[-1]}"
        self.stdout.write(f"Firm id(s) {span}; every generated user's password is {GENERATED_PASSWORD}.")
