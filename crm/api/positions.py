"""Opaque cursors for feeds that page by a (time, kind, id) position rather than through the ORM."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

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
