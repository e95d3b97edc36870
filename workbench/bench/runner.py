"""The benchmark run: serve, probe, load each operation at each concurrency, measure the baselines,
and report (a table, or JSON)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from django.db import connection

from workbench.bench import baselines, load, meters, server
from workbench.bench.scenario import Operation, Scene, build_scene
from workbench.bench.stats import fmt, format_table, ratio


@dataclass
class Options:
    connections: tuple[int, ...] = (1, 8)
    seconds: float = 1.0  # per operation and concurrency (wrk: whole seconds)
    requests: int = 300  # per operation and concurrency, at most (the Python client only)
    client: str = "auto"  # auto | wrk | python
    baselines: bool = True
    only: str = ""  # run the operations whose name contains this
    server: str = "gthread"  # gthread | sync | granian (server.SERVERS)
    workers: int = 2
    threads: int = 4  # per worker (gunicorn sync: one, whatever this says)
    rate_limits: bool = False  # the limiter on, every quota out of reach: each request pays its statement


# What `--rate-limits` serves with: the limiter takes every request's buckets, and lets every one through.
RATE_LIMITS_OUT_OF_REACH = {
    "RATE_LIMIT_ENABLED": "1",
    "RATE_LIMIT_BURST": "1000000/1",
    "RATE_LIMIT_SUSTAINED": "1000000/60",
    "RATE_LIMIT_WRITES": "1000000/60",
}


@dataclass
class Result:
    operation: str
    group: str
    path: str
    connections: int
    client: str
    requests: int
    errors: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    queries: int | None
    rows: int | None
    server_cpu_ms: float | None = None  # per request: the app server's processes, user + system
    database_cpu_ms: float | None = None  # per request: the server's PostgreSQL backends
    served_by: str | None = None  # with DATABASE_REPLICA_URLS: "replica" or "primary" (the warm probe's)
    items: int = 1  # records a request writes (a batch's operations)


@dataclass
class Baseline:
    operation: str
    endpoint_p50_ms: float | None = None
    orm_sql_p50_ms: float | None = None
    json_sql_p50_ms: float | None = None
    no_rls_p50_ms: float | None = None
    no_rls_rows: int | None = None
    # CPU ms per request (server: the app server's process tree; database: its backends). The SQL
    # baselines run in the benchmark's own process, so only their database side is theirs to measure.
    endpoint_server_cpu_ms: float | None = None
    endpoint_database_cpu_ms: float | None = None
    orm_sql_database_cpu_ms: float | None = None
    json_sql_database_cpu_ms: float | None = None
    no_rls_server_cpu_ms: float | None = None
    no_rls_database_cpu_ms: float | None = None
    note: str = ""

    def ratios(self) -> dict[str, float | None]:
        return {
            "endpoint/orm_sql": ratio(self.endpoint_p50_ms, self.orm_sql_p50_ms),
            "endpoint/json_sql": ratio(self.endpoint_p50_ms, self.json_sql_p50_ms),
            "endpoint/no_rls": ratio(self.endpoint_p50_ms, self.no_rls_p50_ms),
        }


@dataclass
class Report:
    options: Options
    facts: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    database_cpu: str = ""  # how the database's CPU was measured, or why it was not
    memory: list[meters.Memory] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "options": asdict(self.options),
            "data": self.facts,
            "results": [asdict(r) for r in self.results],
            "baselines": [asdict(b) | {"ratios": b.ratios()} for b in self.baselines],
            "database_cpu": self.database_cpu,
            "worker_memory": [asdict(m) | {"change_percent": m.change_percent} for m in self.memory],
            "failures": self.failures,
            "seconds": round(self.seconds, 1),
        }


def _client(options: Options) -> str:
    if options.client == "wrk" and load.wrk_path() is None:
        raise RuntimeError("--client wrk: wrk is not installed (Debian: apt-get install wrk)")
    if options.client == "auto":
        return "wrk" if load.wrk_path() else "python"
    return options.client


# The servers' database sessions are told apart by application_name (pg_stat_activity).
ENDPOINT_APPLICATION = "crm-bench-endpoint"
NO_RLS_APPLICATION = "crm-bench-no-rls"


def _tagged_url(application_name: str) -> str:
    """DATABASE_URL for a benchmark server whose connections carry `application_name`."""
    settings_dict = connection.settings_dict
    options = {**settings_dict.get("OPTIONS", {}), "application_name": application_name}
    return server.database_url({**settings_dict, "OPTIONS": options})


MIN_SAMPLES = 3  # fewer in the time given: the operation is re-run on a count instead
SLOW_SECONDS = 15.0  # the bound of that re-run


def _measure(
    base_url: str,
    token: str,
    operation: Operation,
    connections: int,
    options: Options,
    client: str,
    meter: meters.Meter,
) -> tuple[load.Measurement, meters.Spent]:
    """One load run, and the CPU the server and its database used during it (the run that counts)."""
    before = meter.read()
    if client == "wrk":
        measured = load.wrk_load(
            base_url, token, operation.calls, connections=connections, seconds=options.seconds
        )
        if measured.requests >= MIN_SAMPLES:
            return measured, meter.since(before)
        # Slower than the time given (wrk counts only what completes): a few requests, on the clock.
    else:
        measured = load.python_load(
            base_url,
            token,
            operation.calls,
            connections=connections,
            max_requests=options.requests,
            seconds=options.seconds,
        )
        if measured.requests >= min(MIN_SAMPLES, options.requests):
            return measured, meter.since(before)
    before = meter.read()
    measured = load.python_load(
        base_url,
        token,
        operation.calls,
        connections=connections,
        max_requests=max(MIN_SAMPLES, connections),
        seconds=max(SLOW_SECONDS, options.seconds),
    )
    return measured, meter.since(before)


def _ms(value: float) -> float | None:
    return None if value != value else round(value, 2)  # NaN: nothing completed


def _warm(base_url: str, token: str, operation: Operation, options: Options) -> None:
    """A few requests on as many connections as the heaviest run: every server thread has its database
    connection open and the rows in cache before anything is timed."""
    top = max(options.connections)
    load.python_load(base_url, token, operation.calls, connections=top, max_requests=2 * top, seconds=5)


def run(options: Options, log: Callable[[str], None], scene: Scene | None = None) -> Report:
    """Benchmark the generated firm in the current database (scene: who and what; built when None).

    Per operation: a probe (the status it must answer), a warm-up, a second probe (rows per page, queries
    per request, counted by the server), then each concurrency level. List and
    detail pages also get their baselines right after their lowest-concurrency run, so that both see
    the machine in the same state: the ORM's SQL replayed in psycopg, one JSON statement, and the same
    load on a second server that bypasses RLS.
    """
    started = time.perf_counter()

    def say(text: str) -> None:
        log(f"[{time.perf_counter() - started:6.1f}s] {text}")

    scene = scene or build_scene()
    operations = [op for op in scene.operations if any(part in op.name for part in options.only.split("|"))]
    client = _client(options)
    served_by = server.describe(options.server, workers=options.workers, threads=options.threads)
    report = Report(
        options=options,
        facts={**scene.facts, "client": client, "server": served_by, "operations": len(operations)},
    )
    say(
        f"firm {scene.tenant.pk}, manager {scene.manager.pk} (book of {len(scene.book)}); {len(operations)}"
        f" operations × {len(options.connections)} concurrency levels, client {client}"
    )
    lowest = min(options.connections)
    with ExitStack() as stack:
        # The meter's own connection: pg_stat_activity, read between runs (its backend is not counted).
        watch = stack.enter_context(closing(baselines.connect(connection.settings_dict)))
        cursor = stack.enter_context(closing(watch.cursor()))
        problem = meters.local_backend_problem(cursor, watch.info.host)
        report.database_cpu = (
            f"n/a: {problem}"
            if problem
            else "its backends serving the server's connections, found in pg_stat_activity by application_name"
        )
        if problem:
            say(f"database CPU not measured: {problem}")
        served = stack.enter_context(
            server.serve_process(
                _tagged_url(ENDPOINT_APPLICATION),
                server=options.server,
                workers=options.workers,
                threads=options.threads,
                environment=RATE_LIMITS_OUT_OF_REACH if options.rate_limits else None,
            )
        )
        base_url = served.url
        meter = meters.Meter(
            served.pid, None if problem else meters.backends_named(cursor, ENDPOINT_APPLICATION)
        )
        limiter = ", rate limits on (quotas out of reach)" if options.rate_limits else ", rate limits off"
        say(f"{served_by} up at {base_url} (DEBUG off{limiter})")
        servers = [("endpoint", served.pid)]
        bypass_url = ""
        bypass_meter = meters.Meter(None, None)
        sql = None
        if options.baselines and any(op.baseline for op in operations):
            bypass = stack.enter_context(
                server.serve_process(
                    _tagged_url(NO_RLS_APPLICATION),
                    server=options.server,
                    workers=options.workers,
                    threads=options.threads,
                    environment={
                        "BENCH_RLS_BYPASS": "1",
                        **(RATE_LIMITS_OUT_OF_REACH if options.rate_limits else {}),
                    },
                )
            )
            bypass_url = bypass.url
            bypass_meter = meters.Meter(
                bypass.pid, None if problem else meters.backends_named(cursor, NO_RLS_APPLICATION)
            )
            servers.append(("no RLS", bypass.pid))
            sql = stack.enter_context(closing(baselines.connect(connection.settings_dict)))
            say(f"baseline server without RLS up at {bypass_url}")
        # The SQL baselines' one connection: its backend only.
        sql_meter = meters.Meter(
            None, None if problem or sql is None else meters.fixed_backends(sql.info.backend_pid)
        )
        # Every operation once before the workers' memory is read: the first use of a code path (imports,
        # compiled plans, the reports' charts) is not growth, and the summary's figure is meant to show
        # whether serving more requests makes the workers bigger.
        for operation in operations:
            if load.probe(base_url, scene.token, operation.calls[0]).status == operation.expect:
                _warm(base_url, scene.token, operation, options)
        say(f"warm-up pass over {len(operations)} operations done")
        memory_at_start = {name: meters.workers_resident(pid) for name, pid in servers}
        for n, operation in enumerate(operations, 1):
            first = operation.calls[0]
            checked = load.probe(base_url, scene.token, first)
            if checked.status != operation.expect:
                report.failures.append(
                    f"{operation.name}: {first.method} {first.path} → {checked.status} {checked.excerpt}"
                )
                say(f"[{n:>2}/{len(operations)}] {operation.name}: SKIPPED, answered {checked.status}")
                continue
            _warm(base_url, scene.token, operation, options)
            checked = load.probe(base_url, scene.token, first)  # again, warm: queries a request makes
            for connections in options.connections:
                measured, spent = _measure(
                    base_url, scene.token, operation, connections, options, client, meter
                )
                server_cpu, database_cpu = spent.per_request_ms(measured.requests)
                result = Result(
                    operation=operation.name,
                    group=operation.group,
                    path=first.path,
                    connections=connections,
                    client=measured.client,
                    requests=measured.requests,
                    errors=measured.errors,
                    rps=round(measured.rps, 1),
                    p50_ms=_ms(measured.latency.p50),
                    p95_ms=_ms(measured.latency.p95),
                    p99_ms=_ms(measured.latency.p99),
                    queries=checked.queries,
                    rows=checked.rows,
                    server_cpu_ms=server_cpu,
                    database_cpu_ms=database_cpu,
                    served_by=checked.database,
                    items=operation.items,
                )
                report.results.append(result)
                say(
                    f"[{n:>2}/{len(operations)}] {operation.name:<44} c={connections:<2} p50 {fmt(result.p50_ms):>7} ms"
                    f"  p99 {fmt(result.p99_ms):>7} ms  {result.rps:7.1f} req/s  {result.errors} errors"
                    f"  CPU/req server {fmt(result.server_cpu_ms, 2)} ms, database {fmt(result.database_cpu_ms, 2)} ms"
                )
                if connections == lowest and operation.baseline and sql is not None:
                    baseline = _baseline(
                        operation,
                        scene,
                        options,
                        client,
                        result,
                        checked.rows,
                        bypass_url,
                        sql,
                        bypass_meter,
                        sql_meter,
                    )
                    report.baselines.append(baseline)
                    ratios = baseline.ratios()
                    say(
                        f"        baselines: ORM SQL {fmt(baseline.orm_sql_p50_ms)} ms · JSON SQL"
                        f" {fmt(baseline.json_sql_p50_ms)} ms · no RLS {fmt(baseline.no_rls_p50_ms)} ms"
                        f" (endpoint ×{fmt(ratios['endpoint/no_rls'], 2)} of no RLS) {baseline.note}"
                    )
        for name, pid in servers:
            workers_end, end_bytes = meters.workers_resident(pid)
            workers_start, start_bytes = memory_at_start[name]
            answered = sum(r.requests for r in report.results) if name == "endpoint" else None
            report.memory.append(
                meters.Memory(name, workers_start, workers_end, start_bytes, end_bytes, answered)
            )
    report.seconds = time.perf_counter() - started
    say(f"done in {report.seconds:.0f} s")
    return report


def _baseline(
    operation: Operation,
    scene: Scene,
    options: Options,
    client: str,
    endpoint: Result,
    rows: int | None,
    bypass_url: str,
    conn: Any,
    bypass_meter: meters.Meter,
    sql_meter: meters.Meter,
) -> Baseline:
    baseline = Baseline(
        operation.name,
        endpoint_p50_ms=endpoint.p50_ms,
        endpoint_server_cpu_ms=endpoint.server_cpu_ms,
        endpoint_database_cpu_ms=endpoint.database_cpu_ms,
    )
    notes: list[str] = []
    captured = baselines.capture(operation.calls[0], scene.token)
    if captured.status == 200:
        before = sql_meter.read()
        replayed = baselines.replay(
            conn, captured.statements, max_requests=options.requests, seconds=options.seconds
        )
        baseline.orm_sql_p50_ms = _ms(replayed.latency.p50)
        _, baseline.orm_sql_database_cpu_ms = sql_meter.since(before).per_request_ms(replayed.requests)
        if captured.json_page is not None and captured.context:
            try:
                before = sql_meter.read()
                as_json = baselines.replay(
                    conn,
                    [captured.context, captured.json_page],
                    max_requests=options.requests,
                    seconds=options.seconds,
                )
                baseline.json_sql_p50_ms = _ms(as_json.latency.p50)
                _, baseline.json_sql_database_cpu_ms = sql_meter.since(before).per_request_ms(
                    as_json.requests
                )
            except psycopg.Error as exc:  # a page query that cannot be wrapped: say so, carry on
                notes.append(f"JSON statement failed: {str(exc).splitlines()[0]}")
        else:
            notes.append("no single page statement")
    else:
        notes.append(f"in-process request answered {captured.status}")
    checked = load.probe(bypass_url, scene.token, operation.calls[0])
    baseline.no_rls_rows = checked.rows
    if checked.status == 200:
        _warm(bypass_url, scene.token, operation, options)
        measured, spent = _measure(
            bypass_url, scene.token, operation, endpoint.connections, options, client, bypass_meter
        )
        baseline.no_rls_p50_ms = _ms(measured.latency.p50)
        baseline.no_rls_server_cpu_ms, baseline.no_rls_database_cpu_ms = spent.per_request_ms(
            measured.requests
        )
        if checked.rows != rows:
            notes.append(f"rows without RLS: {checked.rows}")
    else:
        notes.append(f"no-RLS server answered {checked.status}")
    baseline.note = "; ".join(notes)
    return baseline


def render(report: Report) -> str:
    """The report as plain-text tables."""
    facts = report.facts
    # With DATABASE_REPLICA_URLS each operation says which database answered it (X-Database).
    served = any(r.served_by for r in report.results)
    lines = [
        f"Benchmark: firm {facts.get('tenant')}, manager {facts.get('manager')} with a book of"
        f" {facts.get('book_size')} principals; served by {facts.get('server')}; client {facts.get('client')};"
        f" {report.options.seconds:g} s or {report.options.requests} requests per cell (n: requests completed);"
        " latencies in ms; CPU: ms of user + system time per request over the cell's run, of the app server"
        f" (its main process and workers) and of the database: {report.database_cpu or 'not measured'}.",
        "",
        format_table(
            [
                "operation",
                "conns",
                "n",
                "p50",
                "p95",
                "p99",
                "req/s",
                "server CPU",
                "db CPU",
                "queries",
                "rows",
                "errors",
                *(["database"] if served else []),
            ],
            [
                [
                    r.operation,
                    str(r.connections),
                    fmt(r.requests) + ("*" if r.client != facts.get("client") else ""),
                    fmt(r.p50_ms),
                    fmt(r.p95_ms),
                    fmt(r.p99_ms),
                    fmt(r.rps, 0),
                    fmt(r.server_cpu_ms, 2),
                    _database_cell(report, r.database_cpu_ms),
                    fmt(r.queries),
                    fmt(r.rows),
                    fmt(r.errors),
                    *([r.served_by or "–"] if served else []),
                ]
                for r in report.results
            ],
        ),
    ]
    if any(r.client != facts.get("client") for r in report.results):
        lines.append(
            f"* slower than the {report.options.seconds:g} s given: timed on {MIN_SAMPLES}+ requests by the Python"
            " client instead"
        )
    if report.baselines:
        lowest = min(report.options.connections)
        lines += [
            "",
            f"Baselines at {lowest} connection(s), p50 in ms (ratios: how many times slower the endpoint is):",
            "",
            format_table(
                [
                    "page",
                    "endpoint",
                    "ORM SQL",
                    "JSON SQL",
                    "no RLS",
                    "÷ORM SQL",
                    "÷JSON SQL",
                    "÷no RLS",
                    "note",
                ],
                [
                    [
                        b.operation,
                        fmt(b.endpoint_p50_ms),
                        fmt(b.orm_sql_p50_ms),
                        fmt(b.json_sql_p50_ms),
                        fmt(b.no_rls_p50_ms),
                        fmt(b.ratios()["endpoint/orm_sql"], 1),
                        fmt(b.ratios()["endpoint/json_sql"], 1),
                        fmt(b.ratios()["endpoint/no_rls"], 2),
                        b.note,
                    ]
                    for b in report.baselines
                ],
                left=1,
            ),
            "",
            f"Baselines' CPU at {lowest} connection(s), ms per request (server: the app server's processes;"
            " the SQL baselines run inside the benchmark's own process, so only their database side is"
            " theirs):",
            "",
            format_table(
                [
                    "page",
                    "endpoint server",
                    "endpoint db",
                    "ORM SQL db",
                    "JSON SQL db",
                    "no RLS server",
                    "no RLS db",
                ],
                [
                    [
                        b.operation,
                        fmt(b.endpoint_server_cpu_ms, 2),
                        _database_cell(report, b.endpoint_database_cpu_ms),
                        _database_cell(report, b.orm_sql_database_cpu_ms),
                        _database_cell(report, b.json_sql_database_cpu_ms),
                        fmt(b.no_rls_server_cpu_ms, 2),
                        _database_cell(report, b.no_rls_database_cpu_ms),
                    ]
                    for b in report.baselines
                ],
            ),
        ]
    if any(r.items > 1 for r in report.results):
        lines += ["", *per_record_table(report)]
    if report.failures:
        lines += ["", "Skipped (unexpected status):", *(f"  {f}" for f in report.failures)]
    return "\n".join(lines)


def _per(value: float | None, items: int, places: int = 2) -> str:
    return fmt(None if value is None else value / items, places)


def per_record_table(report: Report) -> list[str]:
    """The writes per record written: a batch's figures divided by its operations, beside the single
    writes (one record a request) they would replace."""
    writes = [r for r in report.results if r.group == "write"]
    return [
        "Writes per record written (a batch's figures ÷ its operations; single writes as they are):",
        "",
        format_table(
            [
                "operation",
                "conns",
                "records/req",
                "p50/record",
                "records/s",
                "server CPU",
                "db CPU",
                "queries",
            ],
            [
                [
                    r.operation,
                    str(r.connections),
                    str(r.items),
                    _per(r.p50_ms, r.items),
                    fmt(r.rps * r.items, 0),
                    _per(r.server_cpu_ms, r.items),
                    "n/a" if report.database_cpu.startswith("n/a") else _per(r.database_cpu_ms, r.items),
                    _per(None if r.queries is None else float(r.queries), r.items, 1),
                ]
                for r in writes
            ],
        ),
    ]


def _database_cell(report: Report, value: float | None) -> str:
    return "n/a" if report.database_cpu.startswith("n/a") else fmt(value, 2)


def memory_summary(report: Report) -> str:
    """The workers' resident size at the start and the end of the run, and its change."""
    parts = []
    for m in report.memory:
        change = m.change_percent
        workers = f"{m.workers_start} workers" + (
            "" if m.workers_end == m.workers_start else f", {m.workers_end} at the end"
        )
        served = "" if m.requests is None else f", {m.requests:,} measured requests"
        parts.append(
            f"{m.server} server ({workers}{served}) {m.start_bytes / 2**20:,.1f} → {m.end_bytes / 2**20:,.1f} MiB"
            + ("" if change is None else f" ({change:+.1f} %)")
        )
    return (
        "Worker RSS, after a warm-up pass over every operation → end of the run: " + "; ".join(parts) + "."
        if parts
        else ""
    )


def summary(report: Report) -> str:
    """One closing paragraph: the slowest operations and the overall cost of RLS and of Python."""
    if not report.results:
        return "No operation was measured."
    top = max(report.options.connections)
    at_top = [r for r in report.results if r.connections == top]
    slowest = sorted(at_top, key=lambda r: float("inf") if r.p95_ms is None else r.p95_ms, reverse=True)[:3]
    parts = [
        f"{len(report.results)} measurements in {report.seconds:.0f} s.",
        f"Slowest p95 at {top} connections: "
        + ", ".join(
            f"{r.operation} {'(none completed)' if r.p95_ms is None else f'{r.p95_ms:.0f} ms'}"
            for r in slowest
        )
        + ".",
    ]
    rls = [v for b in report.baselines if (v := b.ratios()["endpoint/no_rls"]) is not None]
    orm = [v for b in report.baselines if (v := b.ratios()["endpoint/orm_sql"]) is not None]
    if rls:
        parts.append(f"Endpoint vs no RLS: median ×{sorted(rls)[len(rls) // 2]:.2f}.")
    if orm:
        parts.append(f"Endpoint vs its SQL alone: median ×{sorted(orm)[len(orm) // 2]:.1f}.")
    if memory := memory_summary(report):
        parts.append(memory)
    if report.failures:
        parts.append(f"{len(report.failures)} operation(s) skipped.")
    return " ".join(parts)
