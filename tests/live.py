"""A live API server for tests that need a real client over HTTP: gunicorn on the test database, as deployed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.pgbouncer.test_transaction_pooling import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database, for a server in another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or db.get("OPTIONS", {}).get("host") or ""
    port = str(db["PORT"] or "")
    if host.startswith("/"):  # a unix socket directory (the embedded server)
        return f"postgresql://{credentials}@/{db['NAME']}?host={quote(host, safe='/')}" + (
            f"&port={port}" if port else ""
        )
    return f"postgresql://{credentials}@{host or 'localhost'}:{port or 5432}/{db['NAME']}"


@contextmanager
def gunicorn_server(*, workers: int = 1, options: Sequence[str] = (), **environment: str) -> Iterator[str]:
    """gunicorn serving the test database with DEBUG off, on `workers` processes of 4 threads (plus any
    other gunicorn `options`); `environment` adds or overrides variables. Yields the base URL; the server's
    stderr is printed afterwards (shown when the test fails)."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "crm.wsgi", "-b", f"127.0.0.1:{port}"),
        *("-w", str(workers), "--threads", "4", "--no-control-socket", *options),
    ]
    with _serving(command, port, environment) as url:
        yield url


@contextmanager
def runserver(**environment: str) -> Iterator[str]:
    """Django's development server on the test database with DEBUG on, as `make run` serves."""
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with _serving(command, port, {"DEBUG": "1", **environment}) as url:
        yield url


@contextmanager
def _serving(command: list[str], port: int, environment: dict[str, str]) -> Iterator[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **environment,
    }
    env.pop("PYTEST_VERSION", None)
    # A file, not a pipe: nobody reads a pipe until the end, and once its 64 KB are full (a few dozen logged
    # errors, as when the database goes away under load) the server blocks writing its log, mid-request.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            wait_for_port(port, timeout=60)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
            errors.seek(0)
            print(errors.read().decode(errors="replace")[-3000:])
