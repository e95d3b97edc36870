"""Opaque cursors for feeds that page by a position rather than through the ORM: (time, kind, id), or a pair's (score, left, right)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from decimal import Decimal

from rest_framework.exceptions import ValidationError

from crm.api.limits import valid_id


def encode_position(position: tuple[str, str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode_position(raw: str | None) -> tuple[str, str, int] | None:
    if not raw:
        return None
    try:
        at, kind, event_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not (isinstance(at, str) and isinstance(kind, str) and valid_id(event_id)):
            raise ValueError("not a position")
        if "\x00" in kind or len(kind) > 64:
            raise ValueError("not a kind")
        dt.datetime.fromisoformat(at)
        return at, kind, int(event_id)
    except (ValueError, TypeError, binascii.Error, OverflowError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None


def encode_pair_position(position: tuple[str, int, int]) -> str:
    """A cursor for a list of pairs ordered by score (a decimal's text), then the two ids."""
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode_pair_position(raw: str | None) -> tuple[str, int, int] | None:
    if not raw:
        return None
    try:
        score, left, right = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not (isinstance(score, str) and valid_id(left) and valid_id(right)):
            raise ValueError("not a position")
        if len(score) > 8 or not 0 <= Decimal(score) <= 1:
            raise ValueError("not a score")
        return score, int(left), int(right)
    except (ValueError, TypeError, binascii.Error, OverflowError, ArithmeticError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
