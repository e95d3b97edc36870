"""Hard-delete rows soft-deleted long ago: the one way past the refuse_hard_delete triggers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import sql

from crm.models import Tenant

# Children before parents, so a purged parent is no longer referenced by a purged child.
TABLES = (
    "opportunity_product",
    "opportunity_contact",
    "interaction",
    "product_distributor",
    "customer_distributor",
    "distributor_authorization",
    "opportunity",
    "product",
    "contact",
    "principal_assignment",
    "organization",
)


class Command(BaseCommand):
    help = (
        "Permanently delete a firm's rows that were soft-deleted more than --older-than days ago. "
        "Rows still referenced by live rows are kept. History keeps a 'purge' entry for each row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", type=int, required=True, help="The firm's id.")
        parser.add_argument("--older-than", type=int, default=90, help="Days since deletion (default 90).")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, tenant: int, older_than: int, dry_run: bool, **options: Any) -> None:
        if not Tenant.objects.filter(pk=tenant).exists():
            raise CommandError(f"No firm with id {tenant}.")
        if older_than < 0:
            raise CommandError("--older-than must be zero or more days.")
        cutoff = timezone.now() - dt.timedelta(days=older_than)
        totals = {"purged": 0, "kept": 0}
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('crm.purge', 'on', true)")
                # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check each delete as it
                # happens, so a row still referenced fails in its own savepoint and is kept.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                purged, kept = self._purge_table(table, tenant, cutoff, dry_run)
                totals["purged"] += purged
                totals["kept"] += kept
                if purged or kept:
                    self.stdout.write(
                        f"  {table:<28} {'would purge' if dry_run else 'purged'} {purged:>7}   kept {kept}"
                    )
            if dry_run:
                transaction.set_rollback(True)
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {totals['purged']} rows deleted before {cutoff:%Y-%m-%d}; kept {totals['kept']} still referenced."
            )
        )

    def _purge_table(self, table: str, tenant: int, cutoff: dt.datetime, dry_run: bool) -> tuple[int, int]:
        with connection.cursor() as cursor:
            select = sql.SQL("SELECT id FROM {} WHERE tenant_id = %s AND deleted_at < %s ORDER BY id")
            cursor.execute(
                select.format(sql.Identifier(table)).as_string(cursor.connection), [tenant, cutoff]
            )
            ids = [row[0] for row in cursor.fetchall()]
        purged = kept = 0
        for row_id in ids:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    delete = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table))
                    cursor.execute(delete.as_string(cursor.connection), [row_id])
                purged += 1
            except IntegrityError:  # still referenced by a live row
                kept += 1
        return purged, kept
