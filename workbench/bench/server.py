"""A gunicorn server of the API in a subprocess (DEBUG off), for the benchmark and its tests."""

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
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connection_params(settings_dict: Mapping[str, Any]) -> dict[str, str]:
    """libpq parameters of a Django database settings dict (HOST, or `host` among OPTIONS, etc.)."""
    params = {k: str(v) for k, v in settings_dict.get("OPTIONS", {}).items() if isinstance(v, str | int)}
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


@dataclass(frozen=True)
class Served:
    """A running server: its base URL and the gunicorn master's pid (the workers are its children)."""

    url: str
    pid: int


@contextmanager
def serve(
    url: str, *, workers: int = 2, threads: int = 4, environment: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Serve the API on a free loopback port with gunicorn (gthread), DEBUG off, persistent database
    connections; yields the base URL and stops the server on exit."""
    with serve_process(url, workers=workers, threads=threads, environment=environment) as served:
        yield served.url


@contextmanager
def serve_process(
    url: str, *, workers: int = 2, threads: int = 4, environment: Mapping[str, str] | None = None
) -> Iterator[Served]:
    """`serve`, yielding the process too (for its CPU and memory)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "BENCH_QUERY_COUNT": "1",
        **(environment or {}),
    }
    env.pop("PYTEST_VERSION", None)  # the server is not under test settings
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "workbench.bench.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "10",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while (status := _status(port)) is None or status >= 500:
                if process.poll() is not None or time.monotonic() > deadline or status is not None:
                    log.seek(0)
                    raise RuntimeError(
                        f"gunicorn did not start:\n{log.read().decode(errors='replace')[-3000:]}"
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
