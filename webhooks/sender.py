"""One HTTP POST of a signed event to a checked address: no redirects followed, bounded in time and in
how much of the answer is read."""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from webhooks.urlguard import Target

# Only the status matters; a few KiB of the body are kept for the log, the rest is never read.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "foodbroker-crm-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str  # "" on a 2xx

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name (SNI too), not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
    """POSTs `body`; a 3xx is a failure like any other non-2xx (a redirect is never followed)."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(target, timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])
    finally:
        conn.close()
    if 200 <= status < 300:
        return Outcome(status, "")
    return Outcome(
        status, f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    )
