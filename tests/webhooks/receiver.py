"""A real HTTP receiver for webhook tests: a local server in a thread that verifies every request's
signature with the standardwebhooks package and answers as the test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any
    status: int = 200


@dataclass
class Receiver:
    url: str = ""
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    # Statuses to answer with, in turn (then 200); a delay before answering; where a 3xx points.
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        """The verified payloads it accepted (2xx), each webhook-id once (a consumer dedups by it)."""
        seen: set[str] = set()
        out = []
        for item in list(self.received):
            if item.verified and item.status < 300 and item.headers["webhook-id"] not in seen:
                seen.add(item.headers["webhook-id"])
                out.append(item.payload)
        return out

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"received {len(self.events())} events, waited for {count}")
            time.sleep(0.05)
        return self.events()


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, payload = False, None
            if state.secret is not None:
                try:
                    payload = Webhook(state.secret).verify(body, headers)
                    verified = True
                except Exception:
                    payload = json.loads(body or b"null")
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.received.append(Received(headers, body, verified, payload, status))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.url + "elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
