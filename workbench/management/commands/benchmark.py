"""`manage.py benchmark`: the API under load on generated data, beside its SQL, JSON and no-RLS baselines."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import Tenant
from workbench.bench import export, merge, runner, server, silk_replay
from workbench.bench.scenario import NoGeneratedData, generated_tenant
from workbench.datagen import GenerationError, generate


def _connections(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError("a comma-separated list of whole numbers, e.g. 1,8") from None
    if not values or min(values) < 1:
        raise ValueError("at least one connection count, each 1 or more")
    return values


class Command(BaseCommand):
    help = (
        "Serve the API with gunicorn or granian (--server; DEBUG off) on the generated firm of this database"
        " (generating one at --scale when there is none), load each hot operation of a Sales Manager at 1 and 8 connections"
        " (wrk when installed, else a Python client), and print p50/p95/p99, req/s, the server's and the"
        " database's CPU ms per request (from /proc), queries per request and rows per page, and the"
        " workers' resident memory at the start and end; for list and detail pages also the ORM's SQL"
        " alone, one JSON statement and the endpoint without RLS, with ratios. Writes (creates, updates) go to this database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connections", type=_connections, default=(1, 8), help="Default 1,8.")
        parser.add_argument(
            "--seconds", type=float, default=1.0, help="Per operation and concurrency (default 1)."
        )
        parser.add_argument(
            "--requests",
            type=int,
            default=300,
            help="At most this many per cell (Python client; default 300).",
        )
        parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
        parser.add_argument(
            "--no-baselines", action="store_true", help="Skip the SQL, JSON and no-RLS baselines."
        )
        parser.add_argument(
            "--only",
            default="",
            help="Only operations whose name contains this text (or one of several: a|b).",
        )
        parser.add_argument(
            "--server",
            choices=server.SERVERS,
            default="gthread",
            help="The app server: gunicorn with gthread (default) or sync workers (one thread each:"
            " --threads is ignored), or granian on its WSGI interface (--threads: its blocking threads).",
        )
        parser.add_argument("--workers", type=int, default=2, help="Worker processes (default 2).")
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker (default 4).")
        parser.add_argument(
            "--rate-limits",
            action="store_true",
            help="Serve with the rate limiter on (its quotas raised out of the load's reach), to measure what"
            " it costs a request. Off by default: the load is one user far above any quota.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--scale", type=float, default=1.0, help="Scale to generate when nothing is (1).")
        parser.add_argument("--seed", type=int, default=1, help="Seed for that generation.")
        parser.add_argument(
            "--force", action="store_true", help="Generate even with DEBUG off on a database that has firms."
        )
        exporting = parser.add_argument_group("exports (instead of the load run)")
        exporting.add_argument(
            "--export",
            default="",
            metavar="FORMATS",
            help="Stream the firm's interactions whole as each of these formats (csv,xlsx) from a one-worker"
            " server, as its admin; print rows/s and the worker's resident memory (start, peak, growth).",
        )
        merging = parser.add_argument_group("a merge (instead of the load run)")
        merging.add_argument(
            "--merge",
            type=int,
            default=0,
            metavar="N",
            help="Merge two duplicate accounts with N interactions each (and contacts, opportunities, a"
            " distributor link) through the API as the typical manager, --merge-runs times on fresh"
            " accounts, which stay in the firm; print each merge's time and queries (ADR 0029).",
        )
        merging.add_argument("--merge-runs", type=int, default=3, help="Merges to time (3).")
        replay = parser.add_argument_group("silk replay (instead of the load run)")
        replay.add_argument(
            "--silk-replay",
            action="store_true",
            help="Replay each operation on a server with django-silk recording every request; fail (exit 1)"
            " any request over --max-ms or over its query budget, then compare the latency of a plain"
            " server with silk sampling 0 %% and 100 %%. Creates silk's tables here when missing.",
        )
        replay.add_argument("--repeat", type=int, default=1, help="Judged requests per operation (1).")
        replay.add_argument("--max-ms", type=float, default=silk_replay.MAX_MS, help="Per request (500).")
        replay.add_argument(
            "--overhead-requests",
            type=int,
            default=30,
            help="Requests per operation on each server of the comparison (30; 0 skips it).",
        )

    def _export(self, options: dict[str, Any]) -> None:
        formats = [name.strip() for name in options["export"].split(",") if name.strip()]
        if not formats or set(formats) - {"csv", "xlsx"}:
            raise CommandError("--export takes csv, xlsx or csv,xlsx")
        try:
            results = export.run(formats, app_server=options["server"], log=self.stderr.write)
        except (NoGeneratedData, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps([r.as_json() for r in results], indent=2))
        else:
            self.stdout.write(export.render(results))

    def _merge(self, options: dict[str, Any]) -> None:
        if options["merge"] < 1 or options["merge_runs"] < 1:
            raise CommandError("--merge and --merge-runs must be 1 or more.")
        try:
            results = merge.run(
                interactions=options["merge"], repeat=options["merge_runs"], log=self.stderr.write
            )
        except (NoGeneratedData, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps([r.as_json() for r in results], indent=2))
        else:
            self.stdout.write(merge.render(results))

    def handle(self, *args: Any, **options: Any) -> None:
        if generated_tenant() is None:
            if not settings.DEBUG and not options["force"] and Tenant.objects.exists():
                raise CommandError(
                    "No generated firm here, and this database has real ones with DEBUG off: point DATABASE_URL"
                    " at a benchmark database (or pass --force)."
                )
            self.stderr.write(f"No generated firm yet: generating scale {options['scale']:g} first.")
            try:
                generate(scale=options["scale"], seed=options["seed"], progress=self.stderr.write)
            except GenerationError as exc:
                raise CommandError(str(exc)) from exc
        if options["export"]:
            self._export(options)
            return
        if options["silk_replay"]:
            self._silk_replay(options)
            return
        if options["merge"]:
            self._merge(options)
            return
        run_options = runner.Options(
            connections=options["connections"],
            seconds=options["seconds"],
            requests=options["requests"],
            client=options["client"],
            baselines=not options["no_baselines"],
            only=options["only"],
            server=options["server"],
            workers=options["workers"],
            threads=options["threads"],
            rate_limits=options["rate_limits"],
        )
        try:
            report = runner.run(run_options, log=self.stderr.write)
        except (NoGeneratedData, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self.stdout.write(runner.render(report))
            self.stdout.write("")
            self.stdout.write(runner.summary(report))

    def _silk_replay(self, options: dict[str, Any]) -> None:
        if options["repeat"] < 1 or options["max_ms"] <= 0 or options["overhead_requests"] < 0:
            raise CommandError(
                "--repeat must be 1 or more, --max-ms positive, --overhead-requests 0 or more."
            )
        try:
            report = silk_replay.run(
                only=options["only"],
                repeat=options["repeat"],
                max_ms=options["max_ms"],
                overhead_requests=options["overhead_requests"],
                log=self.stderr.write,
            )
        except (NoGeneratedData, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self.stdout.write(silk_replay.render(report))
            self.stdout.write("")
            self.stdout.write(silk_replay.summary(report))
        if report.failed:
            raise CommandError(f"{len(report.failed)} of {len(report.checks)} replayed requests failed.")
