"""The API's JSON parser: strict about what the standard leaves open (duplicate keys, depth, NaN, NUL)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.parsers import JSONParser

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
# \u0000 not preceded by an escaped backslash: a NUL in a string, which PostgreSQL text cannot hold.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000", re.I)


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def too_deep(text: str, limit: int) -> bool:
    """Whether arrays and objects in `text` nest deeper than `limit` (counted without recursion)."""
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class StrictJSONParser(JSONParser):
    """JSON bodies as RFC 8259 means them, refusing with a 400 what would otherwise be silently
    reinterpreted or crash deeper down: a key given twice, nesting past API_MAX_JSON_DEPTH, NaN and
    Infinity, a NUL character in a string, invalid UTF-8."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not valid UTF-8.") from None
        limit = settings.API_MAX_JSON_DEPTH
        if too_deep(text, limit):
            raise ParseError(f"The body nests arrays and objects deeper than {limit} levels.")
        if _NUL.search(text):
            # DRF's code for the same refusal in a text field (ProhibitNullCharactersValidator).
            message = "Text in the body may not contain the NUL character (\\u0000)."
            raise ValidationError([ErrorDetail(message, code="null_characters_not_allowed")])
        try:
            return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
        except _DuplicateKey as exc:
            raise ParseError(f"The body gives the key {str(exc)!r} more than once.") from None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
