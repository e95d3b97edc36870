"""The change feed's positions: where a reader stands in (xact, id) order, and the opaque cursor for it.

A position is the last entry a reader was given: its `xact` (crm migration 0026) and id. The cursor is
that pair signed with the service's SECRET_KEY (Django's signing), so a client cannot make one up and a
mangled one is a 400, not a silent restart from the beginning. It names no firm: a position means nothing
outside the caller's own firm's entries, which RLS alone decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core import signing

SALT = "changes.cursor"
_XID8 = re.compile(r"\d{1,20}")


class BadCursor(ValueError):
    """Not a cursor this service issued."""


@dataclass(frozen=True, order=True)
class Position:
    """An entry's place in the feed: (transaction, id). The start is before every entry."""

    xact: int = 0
    id: int = 0

    def cursor(self) -> str:
        return signing.dumps([str(self.xact), self.id], salt=SALT, compress=False)


START = Position()


def position_of(cursor: str | None) -> Position:
    """The position a cursor names (START when there is none); BadCursor for anything else."""
    if cursor is None or cursor == "":
        return START
    try:
        value = signing.loads(cursor, salt=SALT)
    except (signing.BadSignature, ValueError, UnicodeError) as error:
        raise BadCursor("Not a cursor this feed issued.") from error
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not _XID8.fullmatch(value[0])
        or type(value[1]) is not int
        or value[1] < 0
    ):
        raise BadCursor("Not a cursor this feed issued.")
    return Position(int(value[0]), value[1])
