"""`benchmark --silk-replay`: the benchmark's operations under django-silk, judged on silk's records
(time and statements per request against a limit and each operation's query budget), and what silk
costs: the same requests on a plain server, on one with silk sampling 0 % and one sampling 100 %."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from workbench.bench import server
from workbench.bench.load import Call, headers_for
from workbench.bench.scenario import Operation, Scene, build_scene
from workbench.bench.stats import fmt, format_table, percentile, ratio

MAX_MS = 500.0
SILK_ON = {"SILK_ENABLED": "1", "SILK_SAMPLE_PERCENT": "100"}
# The side-by-side servers: silk absent (the normal server), silk on but sampling nothing, and all.
VARIANTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("off", {}),
    ("silk 0%", {"SILK_ENABLED": "1", "SILK_SAMPLE_PERCENT": "0"}),
    ("silk 100%", SILK_ON),
)


@dataclass
class Check:
    """One replayed request as silk recorded it, and the verdict."""

    operation: str
    method: str
    path: str
    status: int
    expected: int
    time_ms: float | None = None
    sql_ms: float | None = None
    queries: int | None = None
    server_queries: int | None = None  # X-Query-Count: the server's own count, to cross-check silk's
    budget: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Overhead:
    """p50 latency (ms) of one operation on each side-by-side server."""

    operation: str
    requests: int
    p50_ms: dict[str, float | None]

    def ratios(self) -> dict[str, float | None]:
        off = self.p50_ms.get("off")
        return {name: ratio(value, off) for name, value in self.p50_ms.items() if name != "off"}


@dataclass
class ReplayReport:
    facts: dict[str, Any]
    max_ms: float
    checks: list[Check] = field(default_factory=list)
    overhead: list[Overhead] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "data": self.facts,
            "max_ms": self.max_ms,
            "checks": [asdict(c) | {"ok": c.ok} for c in self.checks],
            "overhead": [asdict(o) | {"ratios": o.ratios()} for o in self.overhead],
            "seconds": round(self.seconds, 1),
        }


def migrate_silk(url: str) -> None:
    """Create silk's tables in the benchmark database (a no-op once there). A child process: here silk
    is not installed unless SILK_ENABLED is set."""
    env = {**os.environ, **SILK_ON, "DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY}
    env.pop("PYTEST_VERSION", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "silk", "--no-input"],
        cwd=server.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate silk failed:\n{(done.stdout + done.stderr)[-3000:]}")


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)


def send(
    conn: http.client.HTTPConnection, token: str, call: Call, request_id: str = ""
) -> tuple[int, int | None]:
    """One request on a keep-alive connection: its status and the server's X-Query-Count."""
    body = call.payload()
    headers = headers_for(token, body)
    if request_id:
        headers["X-Request-ID"] = request_id  # kept by the server, recorded by silk: how rows are found
    conn.request(call.method, call.path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    counted = response.getheader("X-Query-Count")
    return response.status, int(counted) if counted else None


def recorded(run: str) -> dict[str, tuple[float, float, int]]:
    """Silk's records of this run: X-Request-ID → (request ms, SQL ms, statements)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.encoded_headers::jsonb ->> 'x-request-id', r.time_taken,"
            " coalesce(sum(q.time_taken), 0), count(q.id)"
            " FROM silk_request r LEFT JOIN silk_sqlquery q ON q.request_id = r.id"
            " WHERE r.encoded_headers::jsonb ->> 'x-request-id' LIKE %s GROUP BY r.id",
            [f"{run}-%"],
        )
        return {row[0]: (float(row[1] or 0), float(row[2]), int(row[3])) for row in cursor.fetchall()}


def replay(
    scene: Scene, operations: Sequence[Operation], base_url: str, *, repeat: int, max_ms: float
) -> list[Check]:
    """Each operation once untimed (caches, connection set-up), then `repeat` times tagged; then
    judge every tagged request on what silk recorded for it."""
    run = f"silk-{uuid.uuid4().hex[:12]}"
    checks: dict[str, Check] = {}
    conn = _connection(base_url)
    try:
        for n, operation in enumerate(operations):
            send(conn, scene.token, operation.calls[0])
            for k in range(repeat):
                call = operation.calls[(k + 1) % len(operation.calls)]
                request_id = f"{run}-{n}-{k}"
                status, counted = send(conn, scene.token, call, request_id)
                checks[request_id] = Check(
                    operation=operation.name,
                    method=call.method,
                    path=call.path,
                    status=status,
                    expected=operation.expect,
                    server_queries=counted,
                    budget=operation.query_budget,
                )
    finally:
        conn.close()
    found = recorded(run)
    for request_id, check in checks.items():
        if check.status != check.expected:
            check.problems.append(f"answered {check.status}, not {check.expected}")
        if request_id not in found:
            check.problems.append("not recorded by silk")
            continue
        check.time_ms, check.sql_ms, check.queries = found[request_id]
        if check.time_ms > max_ms:
            check.problems.append(f"over {max_ms:g} ms")
        if check.budget is not None and check.queries > check.budget:
            check.problems.append(f"{check.queries} queries, budget {check.budget}")
    return list(checks.values())


def overhead(
    scene: Scene, operations: Sequence[Operation], urls: dict[str, str], *, requests: int
) -> list[Overhead]:
    """Each read operation `requests` times on every server, interleaved request by request in a
    rotating order, so that the machine's drift and other load fall on all of them alike."""
    names = list(urls)
    conns = {name: _connection(url) for name, url in urls.items()}
    results: list[Overhead] = []
    try:
        for operation in operations:
            call = operation.calls[0]
            for conn in conns.values():  # warm: each server's connection and caches
                send(conn, scene.token, call)
            timings: dict[str, list[float]] = {name: [] for name in names}
            for i in range(requests):
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    started = time.perf_counter()
                    status, _ = send(conns[name], scene.token, call)
                    if status == operation.expect:
                        timings[name].append((time.perf_counter() - started) * 1000)
            results.append(
                Overhead(
                    operation.name,
                    requests,
                    {n: round(percentile(t, 50), 2) if t else None for n, t in timings.items()},
                )
            )
    finally:
        for conn in conns.values():
            conn.close()
    return results


def run(
    *,
    only: str = "",
    repeat: int = 1,
    max_ms: float = MAX_MS,
    overhead_requests: int = 30,
    log: Callable[[str], None],
    scene: Scene | None = None,
) -> ReplayReport:
    """The replay (one server, one thread: requests one at a time, as silk times them), then the
    side-by-side cost of silk on one read operation of each group."""
    started = time.perf_counter()

    def say(text: str) -> None:
        log(f"[{time.perf_counter() - started:6.1f}s] {text}")

    scene = scene or build_scene()
    operations = [op for op in scene.operations if only in op.name]
    report = ReplayReport(
        facts={**scene.facts, "operations": len(operations), "repeat": repeat}, max_ms=max_ms
    )
    url = server.database_url(connection.settings_dict)
    say("creating silk's tables when missing (migrate silk)")
    migrate_silk(url)
    with server.serve(url, workers=1, threads=1, environment=SILK_ON) as base_url:
        say(
            f"server with silk recording every request up at {base_url}; replaying {len(operations)} operations"
        )
        report.checks = replay(scene, operations, base_url, repeat=repeat, max_ms=max_ms)
    for check in report.checks:
        if not check.ok:
            say(f"FAILED {check.operation}: {'; '.join(check.problems)}")
    say(f"replayed {len(report.checks)} requests: {len(report.failed)} failed")
    reads = _one_read_per_group(operations) if overhead_requests > 0 else []
    if reads:
        with ExitStack() as stack:
            urls = {
                name: stack.enter_context(server.serve(url, workers=1, threads=1, environment=env))
                for name, env in VARIANTS
            }
            say(
                f"silk's cost: {len(reads)} operations × {overhead_requests} requests on each of"
                f" {', '.join(urls)}, interleaved"
            )
            for n, operation in enumerate(reads, 1):
                report.overhead += overhead(scene, [operation], urls, requests=overhead_requests)
                cells = report.overhead[-1].p50_ms
                say(
                    f"[{n}/{len(reads)}] {operation.name}: "
                    + " · ".join(f"{name} {fmt(value)} ms" for name, value in cells.items())
                )
    report.seconds = time.perf_counter() - started
    say(f"done in {report.seconds:.0f} s")
    return report


def _one_read_per_group(operations: Sequence[Operation]) -> list[Operation]:
    chosen: dict[str, Operation] = {}
    for operation in operations:
        if operation.calls[0].method == "GET":
            chosen.setdefault(operation.group, operation)
    return list(chosen.values())


def _median(values: Sequence[float]) -> float | None:
    return percentile(values, 50) if values else None


def render(report: ReplayReport) -> str:
    lines = [
        f"Silk replay: firm {report.facts.get('tenant')}, manager {report.facts.get('manager')}; each request"
        f" judged on silk's record: at most {report.max_ms:g} ms and its operation's query budget.",
        "",
        format_table(
            ["operation", "result", "method", "status", "ms", "SQL ms", "queries", "counted", "budget"],
            [
                [
                    c.operation,
                    "ok" if c.ok else "FAIL: " + "; ".join(c.problems),
                    c.method,
                    str(c.status),
                    fmt(c.time_ms),
                    fmt(c.sql_ms),
                    fmt(c.queries),
                    fmt(c.server_queries),
                    fmt(c.budget),
                ]
                for c in report.checks
            ],
            left=3,
        ),
        "(queries: statements silk recorded; counted: the server's own X-Query-Count for the same request)",
    ]
    if report.overhead:
        names = list(report.overhead[0].p50_ms)
        lines += [
            "",
            "What silk costs: p50 ms at one connection, servers side by side, requests interleaved",
            "",
            format_table(
                ["operation", "n", *names, *(f"{n} ÷ off" for n in names[1:])],
                [
                    [
                        o.operation,
                        fmt(o.requests),
                        *(fmt(o.p50_ms[n]) for n in names),
                        *(fmt(o.ratios()[n], 2) for n in names[1:]),
                    ]
                    for o in report.overhead
                ],
            ),
        ]
    return "\n".join(lines)


def summary(report: ReplayReport) -> str:
    parts = [f"{len(report.checks)} requests replayed under silk in {report.seconds:.0f} s:"]
    failed = report.failed
    parts.append(
        f"{len(failed)} failed." if failed else f"all within {report.max_ms:g} ms and their budgets."
    )
    timed = [c for c in report.checks if c.time_ms is not None]
    if timed:
        slowest = max(timed, key=lambda c: c.time_ms or 0.0)
        parts.append(f"Slowest: {slowest.operation} {fmt(slowest.time_ms)} ms.")
    if report.overhead:
        for name in list(report.overhead[0].p50_ms)[1:]:
            ratios = [v for o in report.overhead if (v := o.ratios()[name]) is not None]
            if ratios:
                parts.append(f"{name} vs off: median ×{_median(ratios):.2f}.")
    return " ".join(parts)
