"""`manage.py load_demo`: the demo firm and a few hundred records, loaded the first time only."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from workbench.demo import DEMO_PASSWORD, DEMO_TENANT_NAME, demo_load


class Command(BaseCommand):
    help = f'Load the demo tenant "{DEMO_TENANT_NAME}" with realistic data; does nothing if it exists.'

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            counts = demo_load()
        except ValidationError as exc:  # e.g. a demo email already taken by a user of another tenant
            raise CommandError(f"Cannot load the demo: {' '.join(exc.messages)}") from exc
        if counts is None:
            self.stdout.write(
                f'The demo is already loaded (tenant "{DEMO_TENANT_NAME}" exists); nothing changed.'
            )
            return
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f'Loaded the demo tenant "{DEMO_TENANT_NAME}" in {elapsed:.1f} s:')
        )
        for table, count in counts.items():
            self.stdout.write(f"  {table:<28} {count:>5}")
        self.stdout.write(
            f"Every demo user's password is {DEMO_PASSWORD}; `manage.py demo_logins` lists the accounts."
        )
