"""The SSRF guard: an endpoint URL must be http(s) and resolve only to public addresses.

Checked when an endpoint is registered or changed and again before every delivery (DNS can change), and
the connection goes to the very address checked (no second lookup a rebinding DNS could answer
differently). Loopback, private, link-local, multicast, reserved and unspecified addresses are refused
unless WEBHOOK_ALLOW_PRIVATE_URLS is on (local development, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class RefusedURL(ValueError):
    """A URL webhooks will not deliver to, with the reason."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked IP address to connect to


def _refused_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _refused_kind(address.ipv4_mapped)
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if not address.is_global:
        return "non-public"
    return None


def resolve(url: str) -> Target:
    """The URL's parts and the address to connect to; RefusedURL when it may not be delivered to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedURL("Not a valid URL.") from error
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host.")
    if parts.username or parts.password:
        raise RefusedURL("Credentials in the URL are not allowed; use the signature to authenticate.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedURL(f"The host {parts.hostname} does not resolve.") from error
    addresses = sorted({str(info[4][0]) for info in found})
    if not addresses:
        raise RefusedURL(f"The host {parts.hostname} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        for text in addresses:
            kind = _refused_kind(ipaddress.ip_address(text.split("%", 1)[0]))
            if kind is not None:
                raise RefusedURL(f"The host {parts.hostname} resolves to a {kind} address ({text}).")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])
