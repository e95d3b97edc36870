"""The database goes away mid-run and comes back: 503 problems (never HTML, never a hang) while it is gone,
`/readyz` 503, `/healthz` still 200, and normal answers again once it is back.

Two faults, each against gunicorn as deployed (DEBUG off):

- The server stops. A throwaway PostgreSQL cluster this test owns (initdb, seeded with a copy of the
  migrated test database: pg_dump and pg_restore take about a second where `migrate` takes 17) is stopped
  mid-run with `pg_ctl stop -m fast` (an operator's stop: sessions are ended) and started again with
  `pg_ctl start`, then stopped with `-m immediate` (a crash: no goodbye to anyone) and started again.
- Every connection is cut and new ones refused while the server stays up, through a TCP relay in front of
  the test database that the test closes and reopens.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.conf import global_settings
from django.db import connection
from psycopg import sql

from crm import rls
from crm.tokens import tokens_for
from tests.conftest import make_firm
from tests.live import database_url, gunicorn_server
from tests.pgbouncer.test_transaction_pooling import free_port

PROGRAMS = ("initdb", "pg_ctl", "pg_dump", "pg_restore", "postgres")
# A disposable cluster: nothing it writes needs to survive a crash of this machine (fsync). A crash of the
# server (`pg_ctl stop -m immediate`) it must survive: synchronous_commit=off would lose the last commits,
# the restored schema among them.
SERVER_OPTIONS = "-c listen_addresses= -c fsync=off"


def call(
    url: str, method: str = "GET", body: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # a hang fails the test
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        # json.loads fails the test on an HTML page.
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def assert_unavailable_problem(answer: tuple[int, dict[str, str], Any], what: object) -> None:
    status, headers, problem = answer
    assert status == 503, (what, problem)
    assert headers["Content-Type"] == "application/problem+json", what
    assert headers["Retry-After"] == "5", what
    assert problem["title"] == "Service Unavailable", what
    assert problem["request_id"] and problem["request_id"] == headers["X-Request-ID"], what


# -- the server stops -------------------------------------------------------------------------------------


def _major_version(bin_dir: Path) -> int:
    output = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\) (\d+)", output)
    assert match, output
    return int(match.group(1))


def _server_binaries(server_major: int) -> tuple[Path | None, str]:
    """The bin directory to build the cluster with: pgserver's (a pinned dependency, so always there), or
    Debian's newest when the test database's server is newer than pgserver's pg_dump can read. Else None
    and the reason."""
    import pgserver._commands

    candidates = [
        pgserver._commands.POSTGRES_BIN_PATH,
        *(Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)),
    ]
    for bin_dir in candidates:
        if (
            all((bin_dir / program).exists() for program in PROGRAMS)
            and _major_version(bin_dir) >= server_major
        ):
            return bin_dir, ""
    return None, (
        f"no PostgreSQL {server_major}+ binaries with {', '.join(PROGRAMS)} (pgserver's, or Debian's in"
        f" /usr/lib/postgresql): pg_dump cannot copy the test database of a PostgreSQL {server_major} server"
    )


def _system_user(*paths: Path) -> str | None:
    """initdb refuses root: as root the cluster runs as the user pgserver runs its own servers as, created
    and given access to the binaries and `paths` the way pgserver does it. None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    user = "pgserver"
    ensure_user_exists(user)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    for path in paths:
        ensure_prefix_permissions(path)
        shutil.chown(path, user)
    return user


@dataclass
class Cluster:
    """A PostgreSQL cluster in `directory` (data/, log, and the unix socket: no TCP port, so nothing to
    collide with other workers or users of this machine), superuser `owner`."""

    bin_dir: Path
    directory: Path
    owner: str
    user: str | None
    database: str = "crm"

    def run(self, program: str, *args: str, **options: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(self.bin_dir / program), *args], check=True, capture_output=True, timeout=60, **options
        )

    def start(self) -> None:
        self.run(
            "pg_ctl",
            *("-D", str(self.directory / "data"), "-l", str(self.directory / "log"), "-w"),
            *("-o", f"-k {self.directory} {SERVER_OPTIONS}", "start"),
            user=self.user,
        )

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop", user=self.user)

    def is_running(self) -> bool:
        status = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), "status"],
            capture_output=True,
            user=self.user,
        )
        return status.returncode == 0

    @property
    def url(self) -> str:
        return f"postgresql://{quote(self.owner, safe='')}@/{self.database}?host={self.directory}"

    def connect(self, database: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.directory), user=self.owner, dbname=database or self.database, autocommit=True
        )

    def create(self, copy_of: str) -> None:
        """initdb, start, and the database as a copy of `copy_of`'s, with what `migrate` makes outside it:
        the runtime role, granted to the owner. Roles are cluster-wide, so pg_dump leaves them out; the
        grants to the role and the RLS context's secret (crm_context_key) are in the database and come
        along. The owner has the same name as the source's, so the dump's ownerships apply as they are."""
        data = str(self.directory / "data")
        self.run(
            "initdb", "-D", data, "-U", self.owner, "--auth=trust", "-E", "UTF8", "--no-sync", user=self.user
        )
        dump = self.run("pg_dump", "--format=custom", "--compress=0", "-d", copy_of).stdout
        self.start()
        role = sql.Identifier(rls.runtime_role())
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
                ).format(role)
            )
            conn.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(self.owner)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.run("pg_restore", "--single-transaction", "--exit-on-error", "-d", self.url, input=dump)


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own (made by its create()), stopped and deleted afterwards whatever happens."""
    bin_dir, reason = _server_binaries(connection.pg_version // 10000)
    if bin_dir is None:
        pytest.skip(f"*** SKIPPED LOUDLY: {reason}: the database-stop fault test did not run ***")
    directory = Path(tempfile.mkdtemp(prefix="crm-fault-"))
    cluster = Cluster(bin_dir, directory, connection.settings_dict["USER"], _system_user(directory))
    try:
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def organization_names(cluster: Cluster) -> set[str]:
    with cluster.connect() as conn:  # the superuser: no RLS
        return {name for (name,) in conn.execute("SELECT name FROM organization")}


def together(*requests: tuple[str, str, Any], api: str, token: str) -> list[tuple[int, dict[str, str], Any]]:
    """The requests at once, so that each is served by its own thread of the server, with its own
    connection to the database."""
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda r: call(api + r[1], r[0], r[2], token=token), requests))


@pytest.mark.django_db(transaction=True)
def test_a_stopped_database_server_is_503_problems_and_the_service_recovers_after_restart(
    own_cluster: Cluster,
) -> None:
    firm = make_firm("Harbor")
    token = str(tokens_for(firm.manager).access_token)  # the copy has the same users and epochs
    organizations = ("GET", "/api/v1/organizations/", None)
    with gunicorn_server(DATABASE_URL=own_cluster.url) as api:  # its worker boots while the cluster is made
        own_cluster.create(copy_of=database_url())
        # Each of the server's 4 threads keeps a connection the stop will break.
        assert [status for status, _, _ in together(*[organizations] * 4, api=api, token=token)] == [200] * 4

        for mode in ("fast", "immediate"):  # an operator's stop, then a crash
            own_cluster.stop(mode)
            started = time.monotonic()
            requests = (
                organizations,
                ("POST", "/api/v1/organizations/", {"name": f"Outage Diner {mode}", "type": "prospect"}),
                ("POST", "/api/v1/auth/token/", {"email": firm.manager.email, "password": "any"}),
                ("GET", "/api/v1/me/", None),
            )
            for request, answer in zip(requests, together(*requests, api=api, token=token), strict=True):
                assert_unavailable_problem(answer, (mode, *request[:2]))
            assert time.monotonic() - started < 5, mode  # refused at once: nothing waits on a timeout
            status, headers, ready = call(f"{api}/readyz")
            assert (status, ready["status"], headers["Retry-After"]) == (503, "not ready", "5"), mode
            assert headers["Content-Type"] == "application/json"
            assert call(f"{api}/healthz")[0] == 200

            own_cluster.start()
            # At once, on every thread: each connection kept from before is health-checked and replaced.
            answers = together(*[organizations] * 4, api=api, token=token)
            assert [status for status, _, _ in answers] == [200] * 4, mode
            assert call(f"{api}/readyz")[0] == 200
            back = {"name": f"Back Again Diner {mode}", "type": "prospect"}
            created = call(f"{api}/api/v1/organizations/", "POST", back, token=token)
            assert created[0] == 201, created
    names = organization_names(own_cluster)
    assert {"Back Again Diner fast", "Back Again Diner immediate"} <= names
    assert not {"Outage Diner fast", "Outage Diner immediate"} & names


# -- the connections are cut ------------------------------------------------------------------------------

PASSWORD = "Harbor-outage-test-1"


class Relay:
    """A TCP listener on 127.0.0.1:`port` forwarding each connection to the database; stop() cuts them all."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def upstream(self) -> socket.socket:
        db = connection.settings_dict
        host = db["HOST"] or db.get("OPTIONS", {}).get("host") or "localhost"
        port = int(db["PORT"] or 5432)
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(f"{host}/.s.PGSQL.{port}")
            return sock
        return socket.create_connection((host, port))

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = self.upstream()
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):  # wakes the accepting thread (a bare close() would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self.sockets = []


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_503_problems_and_the_service_recovers(settings: Any) -> None:
    firm = make_firm("Harbor")
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server hashes as deployed
    firm.manager.set_password(PASSWORD)
    firm.manager.save(update_fields=["password"])
    relay = Relay(free_port())
    relay.start()
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (
        ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
    )
    url = f"postgresql://{credentials}@127.0.0.1:{relay.port}/{db['NAME']}"
    try:
        with gunicorn_server(DATABASE_URL=url) as api:
            status, _, tokens = call(
                f"{api}/api/v1/auth/token/", "POST", {"email": firm.manager.email, "password": PASSWORD}
            )
            assert status == 200
            token = tokens["access"]
            assert call(f"{api}/api/v1/organizations/", token=token)[0] == 200

            relay.stop()
            for method, path, body in (
                ("GET", "/api/v1/organizations/", None),
                ("POST", "/api/v1/organizations/", {"name": "Outage Diner", "type": "prospect"}),
                ("POST", "/api/v1/auth/token/", {"email": firm.manager.email, "password": PASSWORD}),
            ):
                status, headers, problem = call(api + path, method, body, token=token)
                assert status == 503, (method, path, problem)
                assert headers["Content-Type"] == "application/problem+json"
                assert headers["Retry-After"] == "5"
                assert (
                    problem["title"] == "Service Unavailable"
                    and problem["request_id"] == headers["X-Request-ID"]
                )
            status, headers, ready = call(f"{api}/readyz")
            assert status == 503 and ready["status"] == "not ready" and headers["Retry-After"] == "5"
            assert call(f"{api}/healthz")[0] == 200

            relay.start()
            deadline = time.monotonic() + 15
            while (status := call(f"{api}/api/v1/organizations/", token=token)[0]) != 200:
                assert status == 503 and time.monotonic() < deadline
                time.sleep(0.2)
            # Each of the server's threads finds its own connection broken and reconnects on its next request.
            while (status := call(f"{api}/readyz")[0]) != 200:
                assert status == 503 and time.monotonic() < deadline
                time.sleep(0.2)
            created = call(
                f"{api}/api/v1/organizations/",
                "POST",
                {"name": "Back Again Diner", "type": "prospect"},
                token=token,
            )
            assert created[0] == 201
    finally:
        relay.stop()
    from organizations.models import Organization

    assert not Organization.objects.filter(name="Outage Diner").exists()
