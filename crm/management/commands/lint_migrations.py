"""`manage.py lint_migrations`: squawk and django-migration-linter over every non-initial migration."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from crm import migration_lint as lint


class Command(BaseCommand):
    help = (
        "Lint every migration after each app's initial ones with squawk (on what sqlmigrate prints) and "
        "django-migration-linter. Exceptions, each with its reason: crm/migration_lint.toml. "
        "Fails on any other finding, and on an exception that no longer excuses anything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "labels", nargs="*", metavar="app[.migration]", help="Only these apps or migrations."
        )
        parser.add_argument("--sql", action="store_true", help="Print each linted migration's SQL too.")

    def handle(self, *args: Any, labels: list[str], sql: bool, **options: Any) -> None:
        started = time.perf_counter()
        config = lint.Config.load()
        problems = config.problems()
        loader = MigrationLoader(connection, replace_migrations=False)
        linter = lint.new_linter()
        results: list[lint.Result] = []
        known: set[str] = set()
        skipped = 0
        for migration, linted in lint.migrations_to_lint(loader):
            label = f"{migration.app_label}.{migration.name}"
            known.add(label)
            if labels and not any(label == x or migration.app_label == x for x in labels):
                continue
            if not linted:
                skipped += 1
                if options["verbosity"] >= 2:
                    self.stdout.write(f"  {label:<64} initial, not linted")
                continue
            state = lint.state_before(loader, migration)
            if sql:
                self.stdout.write(lint.migration_sql(migration, state))
            result = lint.lint_migration(migration, state, linter=linter, config=config)
            results.append(result)
            self._report(result, options["verbosity"])
        if not labels:  # a partial run cannot tell an unused exception
            problems += lint.stale_ignores(config, results, known)
        for problem in problems:
            self.stderr.write(self.style.ERROR(f"crm/migration_lint.toml: {problem}"))

        counts = lint.summary_counts(results)
        self.stdout.write(
            f"Linted {counts['linted']} migrations ({skipped} initial ones skipped) with squawk "
            f"(PostgreSQL {config.pg_version}) and django-migration-linter in "
            f"{time.perf_counter() - started:.1f} s: {counts['failed']} failed, "
            f"{counts['excused']} findings excused by crm/migration_lint.toml."
        )
        if counts["failed"] or problems:
            raise CommandError(
                "Migration lint failed: see docs/migrations.md for the conventions and how to fix each rule."
            )

    def _report(self, result: lint.Result, verbosity: int) -> None:
        if result.failures:
            self.stdout.write(self.style.ERROR(f"  {result.label:<64} FAIL"))
            for finding in result.failures:
                where = f" (line {finding.line})" if finding.line else ""
                self.stdout.write(f"      {finding.tool} {finding.rule}{where}: {finding.message}")
        elif verbosity >= 1:
            excused = f"ok, {len(result.excused)} excused" if result.excused else "ok"
            self.stdout.write(f"  {result.label:<64} {excused}")
