"""`manage.py import_file --tenant T --user U --kind K FILE [--dry-run]`: an import from a shell, as a member
(under their access, as the API would run it), with its progress and summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import rls
from crm.models import Tenant
from crm.text import name_key
from imports import services
from imports.models import ImportKind, ImportMode, ImportState
from imports.parsing import ENCODING_CHOICES, FileRefused


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of organizations, contacts, products or their links, as a member."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV or XLSX file.")
        parser.add_argument("--tenant", required=True, help="The firm: its id or its name.")
        parser.add_argument(
            "--user", required=True, help="The member importing (email or id): their access applies."
        )
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.ALL_OR_NOTHING)
        parser.add_argument("--encoding", choices=ENCODING_CHOICES, default="", help="A CSV's encoding.")
        parser.add_argument("--mapping", default="", help='JSON: {"Header in file": "field" or null}.')
        parser.add_argument(
            "--queue", action="store_true", help="Leave the import to a worker instead of running it here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        try:
            mapping = json.loads(options["mapping"]) if options["mapping"] else {}
        except ValueError:
            raise CommandError("--mapping is not JSON.") from None
        user_id = self._member(options["user"], options["tenant"])
        try:
            with rls.acting_as(user_id) as context:
                if not context.can_write:
                    raise CommandError(f"{options['user']} is a viewer: viewers cannot import.")
                record = services.import_create(
                    context=context,
                    content=content,
                    file_name=path.name,
                    kind=options["kind"],
                    dry_run=options["dry_run"],
                    mode=options["mode"],
                    encoding=options["encoding"],
                    mapping=mapping,
                    defer=options["queue"],
                )
        except FileRefused as refused:
            raise CommandError(refused.message) from None
        self.stderr.write(
            f"Import {record.pk}: {record.rows_total} rows of {record.get_kind_display().lower()}."
        )
        if options["queue"]:
            self.stdout.write(
                f"Queued as job {record.job_id}; GET /api/v1/imports/{record.pk}/ to follow it."
            )
            return
        started = time.monotonic()

        def progress(rows: int) -> None:
            self.stderr.write(f"  {rows}/{record.rows_total} rows ({time.monotonic() - started:.1f} s)")

        done = services.import_run(import_id=record.pk, user_id=user_id, progress=progress)
        seconds = time.monotonic() - started
        summary = done.summary
        counts = ", ".join(
            f"{summary.get(action, 0)} {action}" for action in ("create", "update", "unchanged", "error")
        )
        self.stdout.write(f"Import {done.pk} {done.state} in {seconds:.1f} s: {counts}.")
        if summary.get("ignored_columns"):
            self.stdout.write(f"Ignored columns: {', '.join(summary['ignored_columns'])}.")
        for row, column, message in services.import_errors(done)[:50]:
            self.stdout.write(f"  row {row}, {column or 'row'}: {message}")
        if done.error:
            self.stdout.write(done.error)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        if done.state == ImportState.FAILED:
            raise CommandError(f"Import {done.pk} failed.")

    def _member(self, user: str, tenant: str) -> int:
        users = get_user_model()._default_manager
        found = users.filter(pk=int(user)) if user.isdigit() else users.filter(email__iexact=user)
        user_id = found.values_list("pk", flat=True).first()
        if user_id is None:
            raise CommandError(f"No user {user}.")
        with rls.acting_as(user_id) as context:
            firm = Tenant.objects.filter(pk=context.member_tenant_id).first() if context.is_member else None
        if firm is None or not (tenant == str(firm.pk) or name_key(tenant) == name_key(firm.name)):
            raise CommandError(f"{user} is not a member of {tenant}.")
        return user_id
