"""`manage.py dbhealth [--json] [--check NAME …]`: the database's health checks, exit 1 when one fails."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from crm.ops.dbhealth import CHECK_NAMES, Check, Report, run_checks

# Rows shown per check in the table; --json has them all.
SHOWN_ROWS = 10
EXIT_FAILED, EXIT_UNREACHABLE = 1, 2


class Command(BaseCommand):
    help = (
        "Check the database's health: invalid, duplicate, redundant and unused indexes, unindexed foreign "
        "keys, tables without a primary key, NOT VALID constraints, bloat, cache hit rate, wraparound, "
        "autovacuum, sequences, connections and sessions, replication, and the row level security lints. "
        "Each check is ok, warn or fail with its figures and a remedy. Exit status 1 when a check fails, "
        "2 when the database cannot be reached. Connect as the owner or a superuser (DATABASE_URL): other "
        "roles see less of pg_stat_activity and pg_stats."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON document on stdout.")
        parser.add_argument(
            "--check",
            action="append",
            choices=CHECK_NAMES,
            default=[],
            metavar="NAME",
            help=f"Run only this check (repeatable): {', '.join(CHECK_NAMES)}.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Django database alias.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        try:
            connection.ensure_connection()
        except DatabaseError as error:
            raise CommandError(
                f"cannot connect to the database: {error}", returncode=EXIT_UNREACHABLE
            ) from error
        report = run_checks(connection, only=options["check"], progress=lambda line: self.stderr.write(line))
        if options["json"]:
            self.stdout.write(dumps(report.as_dict()))
        else:
            self.stdout.write(render(report))
        counts = report.counts()
        if counts["fail"]:
            raise CommandError(
                f"{counts['fail']} of {len(report.checks)} checks failed: "
                + ", ".join(c.name for c in report.checks if c.status == "fail"),
                returncode=EXIT_FAILED,
            )


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str)


def render(report: Report) -> str:
    """A plain table (no colour: it goes to logs and CI), then each non-ok check's rows and remedy."""
    lines = [
        f"dbhealth: {report.database} on PostgreSQL {report.server_version}, as {report.connected_as}"
        + ("" if report.superuser else " (not superuser: other roles' sessions and statistics are hidden)"),
        "",
    ]
    width = max(len(check.name) for check in report.checks) if report.checks else 10
    lines.append(f"{'STATUS':<6}  {'CHECK':<{width}}  SUMMARY")
    lines += [f"{check.status:<6}  {check.name:<{width}}  {check.summary}" for check in report.checks]
    for check in report.checks:
        if check.status != "ok":
            lines += ["", f"-- {check.name} ({check.status})", *_details(check)]
            if check.why:
                lines.append(f"   why: {check.why}")
            if check.remedy:
                lines.append(f"   remedy: {check.remedy}")
    counts = report.counts()
    lines += [
        "",
        f"{len(report.checks)} checks in {report.seconds:.1f} s: {counts['ok']} ok, {counts['warn']} warn, "
        f"{counts['fail']} fail",
    ]
    return "\n".join(lines)


def _details(check: Check) -> list[str]:
    rows = [{key: value for key, value in row.items() if key != "bytes"} for row in check.details]
    if not rows:
        return []
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in rows[:SHOWN_ROWS]]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    out = ["   " + "  ".join(column.ljust(widths[i]) for i, column in enumerate(columns)).rstrip()]
    out += [
        "   " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in cells
    ]
    if len(rows) > SHOWN_ROWS:
        out.append(f"   … and {len(rows) - SHOWN_ROWS} more (--json lists them all)")
    return out


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 90 else text[:89] + "…"
