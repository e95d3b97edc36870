"""Delete every firm's idempotency keys whose window has passed (ADR 0016); run it daily, from cron or the like."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

BATCH = 5_000


class Command(BaseCommand):
    help = (
        "Delete the stored answers of idempotency keys older than their window (IDEMPOTENCY_WINDOW_SECONDS), "
        "every firm's, in batches. Each write also sweeps its own caller's; this catches the callers that "
        "stopped writing. Needs an owner with BYPASSRLS or superuser, like create_tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        with connection.cursor() as cursor:
            # The table's policies admit only a verified caller's own keys, even to the owner (forced RLS).
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if not (row and row[0]):
                raise CommandError(
                    "The database user must have BYPASSRLS (or be superuser) to reach every firm's keys."
                )
            if dry_run:
                cursor.execute("SELECT count(*) FROM idempotency_key WHERE expires_at <= clock_timestamp()")
                self.stdout.write(f"Would delete {cursor.fetchone()[0]} expired idempotency keys.")
                return
        deleted = 0
        while True:
            # Short transactions: a purge of a large backlog never holds many row locks for long.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM idempotency_key WHERE id IN (SELECT id FROM idempotency_key"
                    " WHERE expires_at <= clock_timestamp() ORDER BY expires_at LIMIT %s)",
                    [BATCH],
                )
                count = cursor.rowcount
            deleted += count
            if count < BATCH:
                break
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} expired idempotency keys."))
