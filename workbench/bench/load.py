"""Load generators on loopback: wrk when installed (Debian package `wrk`), else a bounded thread pool of
keep-alive http.client connections. Both rotate through an operation's calls and report latencies."""

from __future__ import annotations

import http.client
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workbench.bench.stats import Latency

QUERY_COUNT_HEADER = "X-Query-Count"  # added by workbench.bench.wsgi when BENCH_QUERY_COUNT=1


@dataclass(frozen=True)
class Call:
    """One HTTP request of an operation."""

    method: str
    path: str
    body: dict[str, Any] | None = None

    def payload(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Measurement:
    """What one load run saw."""

    client: str
    connections: int
    requests: int
    errors: int
    seconds: float
    latency: Latency

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Probe:
    """One request's status, rows in its page and the queries the server ran for it."""

    status: int
    rows: int | None
    queries: int | None
    excerpt: str
    database: str | None = None  # X-Database: "primary" or "replica" when the server reads from replicas


def headers_for(token: str, body: bytes | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def rows_in(document: Any) -> int | None:
    """Rows a response carries: a page's results, a list's items, one for a record or a report."""
    if isinstance(document, dict):
        for key in ("results", "rows"):
            if isinstance(document.get(key), list):
                return len(document[key])
        return 1
    if isinstance(document, list):
        return len(document)
    return None


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)


def probe(base_url: str, token: str, call: Call) -> Probe:
    connection = _connection(base_url)
    try:
        body = call.payload()
        connection.request(call.method, call.path, body=body, headers=headers_for(token, body))
        response = connection.getresponse()
        raw = response.read()
        queries = response.getheader(QUERY_COUNT_HEADER)
        try:
            rows = rows_in(json.loads(raw)) if raw else None
        except ValueError:
            rows = None
        return Probe(
            response.status,
            rows,
            int(queries) if queries else None,
            raw[:300].decode(errors="replace"),
            response.getheader("X-Database"),
        )
    finally:
        connection.close()


def python_load(
    base_url: str, token: str, calls: Sequence[Call], *, connections: int, max_requests: int, seconds: float
) -> Measurement:
    """`connections` threads, each on its own keep-alive connection, until `max_requests` are done or
    `seconds` have passed. A status of 400 or more, or a broken connection, is an error."""
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    prepared = [(c.method, c.path, c.payload()) for c in calls]

    def worker() -> None:
        connection = _connection(base_url)
        mine: list[float] = []
        failed = 0
        try:
            while True:
                index = next(counter)
                if index >= max_requests or time.perf_counter() >= deadline:
                    break
                method, path, body = prepared[index % len(prepared)]
                started = time.perf_counter()
                try:
                    connection.request(method, path, body=body, headers=headers_for(token, body))
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = _connection(base_url)
                    failed += 1
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                if status >= 400:
                    failed += 1
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Measurement("python", connections, len(latencies), errors[0], elapsed, Latency.of(latencies))


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    level = "=" * next(n for n in itertools.count(1) if f"]{'=' * n}]" not in text)
    return f"[{level}[{text}]{level}]"


WRK_SCRIPT = """
local calls = {%(calls)s}
local headers = {%(headers)s}
local counter = 0
function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
local i = 0
function init(args)
  i = offset or 0
end
function request()
  i = i + 1
  local c = calls[(i %% #calls) + 1]
  return wrk.format(c[1], c[2], headers, c[3])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %%d, "duration_us": %%d, "status_errors": %%d, "socket_errors": %%d,'
    .. ' "p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_script(token: str, calls: Sequence[Call]) -> str:
    entries = []
    for call in calls:
        body = call.payload()
        lua_body = "nil" if body is None else _lua_string(body.decode())
        entries.append(f"{{{_lua_string(call.method)}, {_lua_string(call.path)}, {lua_body}}}")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    header_lua = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    return WRK_SCRIPT % {"calls": ",\n  ".join(entries), "headers": header_lua}


def wrk_load(
    base_url: str, token: str, calls: Sequence[Call], *, connections: int, seconds: float
) -> Measurement:
    """wrk for `seconds` (whole seconds, at least 1) with `connections` connections on ≤ 2 threads."""
    executable = wrk_path()
    if executable is None:
        raise RuntimeError("wrk is not installed")
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as workdir:
        script = Path(workdir) / "calls.lua"
        script.write_text(wrk_script(token, calls))
        command = [
            executable,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base_url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout[-500:]}"
        )
    data = json.loads(line.removeprefix("BENCH "))
    if data["requests"]:
        latency = Latency(
            data["requests"], data["p50_us"] / 1000, data["p95_us"] / 1000, data["p99_us"] / 1000
        )
    else:  # nothing completed within the duration
        latency = Latency.of([])
    return Measurement(
        "wrk",
        connections,
        data["requests"],
        data["status_errors"] + data["socket_errors"],
        data["duration_us"] / 1e6,
        latency,
    )
