"""The database goes away mid-run and comes back: 503 problems (never HTML, never a hang) while it is gone,
`/readyz` 503, `/healthz` still 200, and normal answers again once it is back.

gunicorn (DEBUG off, as deployed) reaches the test database through a TCP relay this test owns; closing the
relay cuts every open connection and refuses new ones, which is what the service sees of a stopped server
(the test's own connection, needed for set-up and teardown, keeps its direct path).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import global_settings
from django.db import connection

from tests.conftest import make_firm
from tests.live import gunicorn_server
from tests.pgbouncer.test_transaction_pooling import free_port

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


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, dict, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # a hang fails the test
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


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
