"""The database goes away mid-run and comes back: 503 problems (never HTML, never a hang) while it is gone,
`/readyz` 503, `/healthz` still 200, and normal answers again once it is back.

Two faults, each against gunicorn as deployed (DEBUG off):

- The server stops. A throwaway PostgreSQL cluster this test owns (initdb, seeded with a copy of the
  migrated test database: pg_dump and pg_restore take about a second where `migrate` takes 17) is stopped
  mid-run with `pg_ctl stop -m fast` (an operator's stop: sessions are ended) and started again with
  `pg_ctl start`, then stopped with `-m immediate` (a crash: no goodbye to anyone) and started again.
- A connection is cut at COMMIT while the server stays up, through a TCP relay in front of the test
  database: before the COMMIT reaches the server (nothing is written), and after it did but before its
  answer came back (the write is done, yet the client cannot know: the in-doubt commit every database
  client has).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
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

import pytest
from django.db import connection

from crm.tokens import tokens_for
from tests.clusters import Cluster, server_binaries, system_user
from tests.conftest import make_firm
from tests.live import database_url, gunicorn_server


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


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own (made by its create()), stopped and deleted afterwards whatever happens."""
    bin_dir, reason = server_binaries(connection.pg_version // 10000)
    if bin_dir is None:
        pytest.skip(f"*** SKIPPED LOUDLY: {reason}: the database-stop fault test did not run ***")
    directory = Path(tempfile.mkdtemp(prefix="crm-fault-"))
    cluster = Cluster(bin_dir, directory, connection.settings_dict["USER"], system_user(directory))
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
            # Refused at once: nothing waits on a timeout (a bound with room for a loaded CI machine).
            assert time.monotonic() - started < 15, mode
            status, headers, ready = call(f"{api}/readyz")
            assert (status, ready["status"], headers["Retry-After"]) == (503, "not ready", "5"), mode
            assert headers["Content-Type"] == "application/json"
            assert call(f"{api}/healthz")[0] == 200
            # The admin's pages say so too: a 503 with Retry-After, not a 500.
            with pytest.raises(urllib.error.HTTPError) as admin:
                urllib.request.urlopen(f"{api}/admin/login/", timeout=10)
            assert (admin.value.code, admin.value.headers["Retry-After"]) == (503, "5"), mode

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


# -- a connection is cut at COMMIT ------------------------------------------------------------------------

# The simple-query message psycopg sends for connection.commit(): every request's transaction ends with it.
COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"


@dataclass
class Link:
    client: socket.socket
    server: socket.socket
    lose_reply: bool = False

    def cut(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Relay:
    """A TCP listener on 127.0.0.1 forwarding each connection to the test database. cut_at_commit() arms
    it: the next COMMIT any connection sends is either dropped with its connection (`before` it reaches
    the server) or let through and its answer dropped with the connection (`after`)."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.armed: str | None = None
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_at_commit(self, when: str) -> None:
        assert when in ("before", "after")
        self.armed = when

    def _disarm(self) -> str | None:
        """The cut armed, if any, now taken by the caller (once: one COMMIT is cut)."""
        with self.lock:
            when, self.armed = self.armed, None
            return when

    @staticmethod
    def upstream() -> socket.socket:
        db = connection.settings_dict
        host = db["HOST"] or db.get("OPTIONS", {}).get("host") or "localhost"
        port = int(db["PORT"] or 5432)
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(f"{host}/.s.PGSQL.{port}")
            return sock
        return socket.create_connection((host, port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            link = Link(client, self.upstream())
            self.links.append(link)
            threading.Thread(target=self._to_server, args=(link,), daemon=True).start()
            threading.Thread(target=self._to_client, args=(link,), daemon=True).start()

    def _to_server(self, link: Link) -> None:
        try:
            while data := link.client.recv(65536):
                if COMMIT in data and (when := self._disarm()):
                    if when == "before":
                        link.server.sendall(data[: data.index(COMMIT)])
                        break
                    link.lose_reply = True
                link.server.sendall(data)
        except OSError:
            pass
        link.cut()

    def _to_client(self, link: Link) -> None:
        try:
            while (data := link.server.recv(65536)) and not link.lose_reply:
                link.client.sendall(data)
        except OSError:
            pass
        link.cut()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the accepting thread (a bare close() would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for link in self.links:
            link.cut()
            link.client.close()
            link.server.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_at_commit_is_a_503_problem_and_the_next_request_reconnects() -> None:
    from organizations.models import Organization

    firm = make_firm("Harbor")
    token = str(tokens_for(firm.manager).access_token)
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (
        ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
    )
    relay = Relay()
    # sslmode=disable: the relay must read the COMMIT.
    url = f"postgresql://{credentials}@127.0.0.1:{relay.port}/{db['NAME']}?sslmode=disable"
    organizations = "/api/v1/organizations/"
    try:
        with gunicorn_server(DATABASE_URL=url) as api:
            assert call(api + organizations, token=token)[0] == 200

            relay.cut_at_commit("before")
            lost = call(api + organizations, "POST", {"name": "Cut Diner", "type": "prospect"}, token=token)
            assert_unavailable_problem(lost, "cut before the COMMIT")
            assert call(api + organizations, token=token)[0] == 200  # the server stayed up: reconnected
            assert not Organization.objects.filter(name="Cut Diner").exists()

            # The COMMIT reached the server and only its answer was lost: written, yet the client got a
            # 503, as it would from any database client. A retried create then finds the name taken.
            relay.cut_at_commit("after")
            in_doubt = call(
                api + organizations, "POST", {"name": "Doubt Diner", "type": "prospect"}, token=token
            )
            assert_unavailable_problem(in_doubt, "cut after the COMMIT")
            assert Organization.objects.filter(name="Doubt Diner").exists()
            retried = call(
                api + organizations, "POST", {"name": "Doubt Diner", "type": "prospect"}, token=token
            )
            assert (retried[0], retried[2]["errors"][0]["code"]) == (400, "unique"), retried
    finally:
        relay.close()


@pytest.mark.django_db
def test_a_database_host_that_never_answers_is_a_503_within_the_connect_timeout() -> None:
    """A host that accepts the TCP connection and then says nothing (a hung server, a black-holed route
    behind a proxy) fails the request after DATABASE_CONNECT_TIMEOUT, not the system's TCP timeout."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes handshakes into the backlog; nothing ever answers them
    port = silent.getsockname()[1]
    try:
        with gunicorn_server(
            DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/nothing", DATABASE_CONNECT_TIMEOUT="1"
        ) as api:
            # call() gives up after its own timeout: without the connect timeout this request would hang.
            status, headers, problem = call(f"{api}/api/v1/organizations/")
    finally:
        silent.close()
    assert status == 503 and headers["Content-Type"] == "application/problem+json", problem
