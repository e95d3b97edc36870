"""Delete every firm's idempotency keys whose window has passed (ADR 0016). The worker runs this every hour
(crm/tasks.py); the command is for a deployment without one, or to run it now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import idempotency


class Command(BaseCommand):
    help = (
        "Delete the stored answers of idempotency keys older than their window (IDEMPOTENCY_WINDOW_SECONDS), "
        "every firm's, in batches. Each write also sweeps its own caller's, and the worker runs this hourly; "
        "this catches the callers that stopped writing. Needs an owner with BYPASSRLS or superuser, like "
        "create_tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        if not idempotency.may_purge():
            raise CommandError(
                "The database user must have BYPASSRLS (or be superuser) to reach every firm's keys."
            )
        if dry_run:
            self.stdout.write(f"Would delete {idempotency.count_expired()} expired idempotency keys.")
            return
        deleted = idempotency.purge_expired()
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} expired idempotency keys."))
