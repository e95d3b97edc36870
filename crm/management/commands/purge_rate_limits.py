"""Delete the rate limiter's full buckets (ADR 0019): cheap, safe at any time; the worker
runs it every 5 minutes (crm/tasks.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from crm.rate_limits import PURGE_COUNT, purge_full_buckets


class Command(BaseCommand):
    help = (
        "Delete the rate limiter's buckets that are full again (their theoretical arrival time has passed: "
        "the same as no row), in short batches. The table is UNLOGGED, so this writes no WAL. With REDIS_URL "
        "set there is nothing to do: Redis expires each bucket itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        if settings.REDIS_URL:
            self.stdout.write("REDIS_URL is set: the buckets are in Redis, which expires them itself.")
        with connection.cursor() as cursor:
            if dry_run:
                cursor.execute(PURGE_COUNT)
                self.stdout.write(f"Would delete {cursor.fetchone()[0]} full rate limit buckets.")
                return
        deleted = purge_full_buckets()
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} full rate limit buckets."))
