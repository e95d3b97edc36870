"""Write the migration for a changed policy declaration (`<app>/policies.py`), with its literal SQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from crm import policy_declarations as declarations


class Command(BaseCommand):
    help = (
        "Compare an app's declared policies (<app>/policies.py) with the migrated database and write a"
        " migration carrying the literal SQL that applies them (and, reversed, restores the catalog as it"
        " is), re-creating the search functions that copy a changed SELECT policy. Run it against a"
        " development database migrated to the latest state: the declared policies are created under"
        " scratch names in a savepoint that is rolled back, to read how PostgreSQL deparses them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_label")
        parser.add_argument("--name", default="policies", help="the migration's name after its number")
        parser.add_argument(
            "--output-dir", default=None, help="where to write it (default: the app's migrations package)"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the migration, write nothing")

    def handle(
        self, *args: Any, app_label: str, name: str, output_dir: str | None, dry_run: bool, **options: Any
    ) -> None:
        try:
            config = apps.get_app_config(app_label)
        except LookupError as error:
            raise CommandError(str(error)) from error
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise CommandError(f"--name must be lower case letters, digits and underscores, not {name!r}")
        rules = declarations.app_declarations(app_label)
        if not rules:
            raise CommandError(f"{config.name}.policies declares no POLICIES")
        step = declarations.policy_step(rules)
        if not step.forward:
            self.stdout.write(f"No changes in {app_label}'s policies.")
            return

        loader = MigrationLoader(connection, ignore_no_migrations=True)
        leaves = loader.graph.leaf_nodes(app_label)
        if len(leaves) > 1:
            raise CommandError(f"{app_label} has conflicting migrations {leaves}: merge them first")
        numbers = [int(m[:4]) for a, m in loader.disk_migrations if a == app_label and m[:4].isdigit()]
        filename = f"{max(numbers, default=0) + 1:04d}_{name}.py"
        source = declarations.migration_source(app_label, leaves[0] if leaves else None, step)
        if dry_run:
            self.stdout.write(source)
            return
        directory = Path(output_dir) if output_dir else Path(config.path) / "migrations"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / filename
        if path.exists():
            raise CommandError(f"{path} exists")
        path.write_text(source)
        self.stdout.write(f"Wrote {path} ({', '.join(step.tables)}); run `manage.py migrate {app_label}`.")
