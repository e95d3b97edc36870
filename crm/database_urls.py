"""Database URLs read into Django's settings: dj-database-url, plus libpq's multi-host form it cannot read."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# One `host[:port]` of a multi-host list: a name, an IPv4 address, a bracketed IPv6 address or a
# percent-encoded socket directory, then maybe a port.
_HOST_AND_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>\d*))?")


def parse(url: str, **options: Any) -> dict[str, Any]:
    """`dj_database_url.parse(url, **options)`, and libpq's multi-host URL too:
    `postgresql://owner@db1:5432,db2:5432,db3:5432/crm?target_session_attrs=read-write` (libpq tries each
    host in turn until one is a primary: how the service follows a failover, see deploy/patroni/).

    dj-database-url gives such a URL to Python's urlsplit, which takes `5432,db2:5432,…` for a port and
    fails. Here the hosts are read first; HOST and PORT become libpq's comma-separated lists
    (`db1,db2,db3`, `5432,5432,5432`), which Django hands to psycopg as they are."""
    split = urlsplit(url)
    credentials, at, hosts = split.netloc.rpartition("@")
    if "," not in hosts:
        return dict(dj_database_url.parse(url, **options))
    names, ports = [], []
    for entry in hosts.split(","):
        match = _HOST_AND_PORT.fullmatch(entry)
        if match is None or not match["host"]:
            raise ImproperlyConfigured(f"Database URL: {entry!r} is not a host[:port] of a multi-host list.")
        names.append(unquote(match["host"].removeprefix("[").removesuffix("]")))
        ports.append(match["port"] or "")
    # The rest of the URL (user, password, database, options) is read as a one-host URL's.
    parsed = dict(
        dj_database_url.parse(urlunsplit(split._replace(netloc=f"{credentials}{at}localhost")), **options)
    )
    parsed["HOST"] = ",".join(names)
    # libpq takes one port for every host, or one per host (an empty one is the default port).
    parsed["PORT"] = ",".join(ports) if any(ports) else ""
    return parsed


def split(urls: str) -> list[str]:
    """A comma-separated list of URLs (DATABASE_REPLICA_URLS): a comma followed by a scheme (`postgresql://`)
    starts the next URL; any other is inside one, in a multi-host list."""
    return [url.strip() for url in _NEXT_URL.split(urls) if url.strip()]


_NEXT_URL = re.compile(r",(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
