"""`manage.py analyze_queries`: EXPLAIN the hot queries under RLS and recommend indexes (HypoPG-verified)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workbench import analyze, analyze_report
from workbench.bench.scenario import NoGeneratedData


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


class Command(BaseCommand):
    help = (
        "Run the benchmark's hot requests in-process as the firm's typical Sales Manager (RLS in force, every"
        " write rolled back), or read the top of pg_stat_statements; EXPLAIN (ANALYZE, BUFFERS) each distinct"
        " query as that manager and report sequential scans of large tables, sorts no index serves, row"
        " estimates off ×10 and time. With HypoPG, candidate indexes are tried hypothetically and only those"
        " that halve a query's cost are recommended, with the CREATE INDEX CONCURRENTLY to run. Read-only:"
        " nothing is kept (except CREATE EXTENSION hypopg when the server has it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source",
            choices=["auto", "requests", "statements"],
            default="auto",
            help="requests: the benchmark's hot operations; statements: pg_stat_statements;"
            " auto (default): statements when the extension is loaded here, else requests.",
        )
        parser.add_argument(
            "--tenant",
            type=int,
            default=None,
            help="Firm id (default: the generated firm, or the only firm of the database).",
        )
        parser.add_argument("--only", default="", help="Only operations whose name contains this text.")
        parser.add_argument(
            "--calls", type=_positive, default=1, help="Requests run per operation (default 1)."
        )
        parser.add_argument(
            "--top", type=_positive, default=50, help="Statements read from pg_stat_statements (default 50)."
        )
        parser.add_argument(
            "--min-rows",
            type=int,
            default=10_000,
            help="Report sequential scans of tables of at least this many rows (default 10000).",
        )
        parser.add_argument(
            "--statement-timeout",
            type=_positive,
            default=30_000,
            help="Milliseconds one EXPLAIN ANALYZE may take before only its estimated plan is read (30000).",
        )
        parser.add_argument("--no-hypopg", action="store_true", help="Do not try candidate indexes.")
        parser.add_argument("--limit", type=_positive, default=25, help="Queries in the table (default 25).")
        parser.add_argument("--json", action="store_true", help="Print the analysis as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        run_options = analyze.Options(
            source=options["source"],
            only=options["only"],
            calls=options["calls"],
            top=options["top"],
            min_rows=options["min_rows"],
            statement_timeout_ms=options["statement_timeout"],
            hypopg=not options["no_hypopg"],
        )
        try:
            analysis = analyze.run(run_options, log=self.stderr.write, tenant_id=options["tenant"])
        except (analyze.SourceUnavailable, NoGeneratedData) as exc:
            raise CommandError(str(exc)) from exc
        if not analysis.statements:
            raise CommandError("No query to analyse (check --only, or that pg_stat_statements has data).")
        if options["json"]:
            self.stdout.write(json.dumps(analyze_report.as_json(analysis), indent=2, default=str))
            return
        self.stdout.write(analyze_report.render(analysis, limit=options["limit"]))
        self.stdout.write("")
        self.stdout.write(analyze_report.summary(analysis))
