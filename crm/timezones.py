"""Time zones: the firm's (its reports' days and weeks) and each member's (their "today"), ADR 0028.

Both are IANA names kept in the database (tenant.time_zone, membership.time_zone; crm migration 0028),
checked there by crm_time_zone_valid() and here against Python's zone database, which the API answers
from. A member without a zone of their own lives in the firm's.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db import connection

UTC = zoneinfo.ZoneInfo("UTC")


@functools.cache
def known_zones() -> frozenset[str]:
    """The IANA names Python knows (its tzdata), without the legacy POSIX-style ones PostgreSQL reads
    differently ('EST5EDT' is one zone to both, 'Etc/GMT+5' is UTC−5 to both: those stay)."""
    return frozenset(zoneinfo.available_timezones())


def is_known(name: str) -> bool:
    return name in known_zones()


def zone(name: str | None, default: zoneinfo.ZoneInfo = UTC) -> zoneinfo.ZoneInfo:
    """The zone named, or `default` for none (or one this Python's tzdata does not know)."""
    if not name:
        return default
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return default


@dataclass(frozen=True)
class Zones:
    """A member's two zones: the firm's (reports) and their own day's (the firm's unless they set one)."""

    firm: zoneinfo.ZoneInfo
    member: zoneinfo.ZoneInfo

    def firm_today(self) -> dt.date:
        return today_in(self.firm)

    def member_today(self) -> dt.date:
        return today_in(self.member)


def today_in(where: zoneinfo.ZoneInfo, *, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(where).date()


def zones_of(*, tenant_id: int, user_id: int | None) -> Zones:
    """The firm's zone and the member's, in one query (read as whoever runs it: a member reads their own
    membership and their firm)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.time_zone, m.time_zone FROM tenant t"
            " LEFT JOIN membership m ON m.tenant_id = t.id AND m.user_id = %s WHERE t.id = %s",
            [user_id, tenant_id],
        )
        row = cursor.fetchone()
    firm = zone(row[0]) if row else UTC
    return Zones(firm=firm, member=zone(row[1], default=firm) if row else firm)


def member_zone(user: Any) -> zoneinfo.ZoneInfo:
    """The zone of a member's day (a User or a user id): theirs, else their firm's, else UTC."""
    user_id: int = getattr(user, "pk", user)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.time_zone, t.time_zone FROM membership m JOIN tenant t ON t.id = m.tenant_id"
            " WHERE m.user_id = %s",
            [user_id],
        )
        row = cursor.fetchone()
    if row is None:
        return UTC
    return zone(row[0], default=zone(row[1]))


def member_today(user: Any, *, now: dt.datetime | None = None) -> dt.date:
    """Today in the member's zone."""
    return today_in(member_zone(user), now=now)
