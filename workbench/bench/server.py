"""An app server of the API in a subprocess (DEBUG off): gunicorn (gthread or sync workers) or granian,
for the benchmark and its tests."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# OPTIONS a DATABASES entry may hold that are not connection parameters of libpq.
DRIVER_OPTIONS = frozenset({"server_side_binding", "prepare_threshold", "cursor_factory", "pool", "context"})


def connection_params(settings_dict: Mapping[str, Any]) -> dict[str, str]:
    """libpq parameters of a Django database settings dict (HOST, or `host` among OPTIONS, etc.); the
    options that are Django's or psycopg's rather than libpq's (server-side binding, preparing) left out."""
    params = {
        k: str(v)
        for k, v in settings_dict.get("OPTIONS", {}).items()
        if isinstance(v, str | int) and k not in DRIVER_OPTIONS
    }
    for key, name in (
        ("NAME", "dbname"),
        ("USER", "user"),
        ("PASSWORD", "password"),
        ("HOST", "host"),
        ("PORT", "port"),
    ):
        if settings_dict.get(key):
            params[name] = str(settings_dict[key])
    return params


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A postgresql:// URL for a Django database settings dict (unix socket directories included), as
    DATABASE_URL takes it."""
    params = connection_params(settings_dict)
    user = quote(params.pop("user", ""))
    password = params.pop("password", "")
    credentials = f"{user}:{quote(password)}" if password else user
    name = quote(params.pop("dbname"))
    host = params.get("host", "")
    location = ""
    if host and not host.startswith("/"):
        location = params.pop("host") + (f":{params.pop('port')}" if "port" in params else "")
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{credentials}@{location}/{name}{query}"


def _status(port: int) -> int | None:
    """The API's answer to a request that reaches the database; None while nothing listens."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/v1/me/")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


# The servers the benchmark can serve the API with (`--server`): gunicorn's threaded and synchronous workers,
# and granian (Rust HTTP, the app on its WSGI interface).
SERVERS = ("gthread", "sync", "granian")


def threads_per_worker(server: str, threads: int) -> int:
    """The threads each worker runs the app on: gunicorn's sync workers have one, whatever was asked."""
    return 1 if server == "sync" else threads


def describe(server: str, *, workers: int, threads: int) -> str:
    """What served, for a report's header: e.g. "gunicorn 27.0.1 gthread, 2 workers × 4 threads"."""
    each = threads_per_worker(server, threads)
    shape = f"{workers} worker{'s' if workers != 1 else ''} × {each} thread{'s' if each != 1 else ''}"
    if server == "granian":
        return f"granian {version('granian')} WSGI, {shape}"
    return f"gunicorn {version('gunicorn')} {server}, {shape}"


def server_command(server: str, port: int, *, workers: int, threads: int) -> list[str]:
    """The command line serving the benchmark's WSGI app on 127.0.0.1:`port` with `workers` processes of
    `threads` threads each (gunicorn sync: one thread each, whatever `threads` says)."""
    if server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "workbench.bench.wsgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            # The Python threads that run the app, per worker: gthread's --threads.
            "--blocking-threads",
            str(threads),
            # An idle thread is ended after this many seconds, and its persistent database connection with
            # it; the longest allowed, so that a pause between the benchmark's cells costs no reconnections.
            "--blocking-threads-idle-timeout",
            "600",
            # The Rust threads doing the network I/O, per worker: one each, as each of gunicorn's workers has
            # one thread polling its sockets; the Python threads are the CPU that matters here.
            "--runtime-threads",
            "1",
            "--backlog",
            "2048",  # gunicorn's default
            "--http",
            "1",
            "--no-ws",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    if server not in ("gthread", "sync"):
        raise ValueError(f"unknown server {server!r}: one of {', '.join(SERVERS)}")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "workbench.bench.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        server,
        "--keep-alive",
        "10",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    if server == "gthread":
        # Not for sync: gunicorn runs "sync" with more than one thread as gthread.
        command += ["--threads", str(threads)]
    return command


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and the pid of its main process (gunicorn's master, granian's main
    process; the workers are its children)."""

    url: str
    pid: int


@contextmanager
def serve(
    url: str,
    *,
    server: str = "gthread",
    workers: int = 2,
    threads: int = 4,
    environment: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Serve the API on a free loopback port with `server` (gunicorn gthread unless said), DEBUG off,
    persistent database connections; yields the base URL and stops the server on exit."""
    with serve_process(
        url, server=server, workers=workers, threads=threads, environment=environment
    ) as served:
        yield served.url


@contextmanager
def serve_process(
    url: str,
    *,
    server: str = "gthread",
    workers: int = 2,
    threads: int = 4,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """`serve`, yielding the process too (for its CPU and memory)."""
    port = free_port()
    command = server_command(server, port, workers=workers, threads=threads)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "BENCH_QUERY_COUNT": "1",
        # The benchmark connects to its database directly (its CPU columns need it on this machine): it
        # measures with server-side prepared statements unless told otherwise (behind an old PgBouncer).
        "DATABASE_PREPARED_STATEMENTS": os.environ.get("DATABASE_PREPARED_STATEMENTS") or "1",
        # The load is one Sales Manager at thousands of requests a second: the benchmark measures the API,
        # not the 429s of the rate limiter (`benchmark --rate-limits` keeps it on, its quotas out of reach).
        "RATE_LIMIT_ENABLED": "0",
        **(environment or {}),
    }
    env.pop("PYTEST_VERSION", None)  # the server is not under test settings
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while (status := _status(port)) is None or status >= 500:
                if process.poll() is not None or time.monotonic() > deadline or status is not None:
                    log.seek(0)
                    raise RuntimeError(
                        f"{server} did not start:\n{log.read().decode(errors='replace')[-3000:]}"
                    )
                time.sleep(0.2)
            yield Served(f"http://127.0.0.1:{port}", process.pid)
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
