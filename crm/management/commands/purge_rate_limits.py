"""Delete the rate limiter's full buckets (ADR 0019): cheap, safe at any time; run it every few minutes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

BATCH = 10_000
# A bucket is full again once its theoretical arrival time (microseconds since the epoch) has passed.
COUNT = (
    "SELECT count(*) FROM rate_limit_bucket"
    " WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
)
# One statement each, autocommit: a bucket being taken meanwhile is skipped (locked only for its own take),
# and a row is deleted only if its time has still passed once locked (a take in between wins).
DELETE = (
    "DELETE FROM rate_limit_bucket WHERE bucket IN (SELECT bucket FROM rate_limit_bucket"
    " WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint LIMIT %s FOR UPDATE SKIP LOCKED)"
    " AND tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
)


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
                cursor.execute(COUNT)
                self.stdout.write(f"Would delete {cursor.fetchone()[0]} full rate limit buckets.")
                return
        deleted = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(DELETE, [BATCH])
                count = cursor.rowcount
            deleted += count
            if count < BATCH:
                break
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} full rate limit buckets."))
