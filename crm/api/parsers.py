"""The API's JSON parser: strict about what the standard leaves open (duplicate keys, depth, NaN, NUL),
exact about numbers (a fraction is a Decimal from its own digits, never a float)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
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


class NonFinite:
    """`NaN`, `Infinity` or `-Infinity` where a value was due: Python's json reads them, RFC 8259 has no
    such number. Held in place while the body is parsed, so the refusal can name the field that holds it."""

    def __init__(self, text: str) -> None:
        self.text = text


def non_finite_paths(value: Any, path: str = "") -> Iterator[str]:
    """The places in a parsed body holding a NonFinite: `weekly_case_volume`, `lines.0.price`, or "" for
    the body itself (the dotted form problem details give a nested field)."""
    if isinstance(value, NonFinite):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from non_finite_paths(item, f"{path}.{index}" if path else str(index))


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
    Infinity (a 400 naming the field), a NUL character in a string, invalid UTF-8.

    A number with a fraction or an exponent (`0.1`, `1e2`) becomes a Decimal made from its text, so a
    decimal field sent a JSON number keeps exactly the digits sent (through a float, `0.1` would arrive
    as 0.1000000000000000055…); whole numbers stay ints. DRF's own JSONParser reads them as floats."""

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
        non_finite: list[NonFinite] = []

        def constant(name: str) -> NonFinite:
            non_finite.append(NonFinite(name))
            return non_finite[-1]

        try:
            data = json.loads(text, object_pairs_hook=_object, parse_float=Decimal, parse_constant=constant)
        except _DuplicateKey as exc:
            raise ParseError(f"The body gives the key {str(exc)!r} more than once.") from None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        if non_finite:
            message = "NaN and Infinity are not JSON numbers; send a finite number."
            error = [ErrorDetail(message, code="invalid")]
            raise ValidationError(
                {path or "non_field_errors": error for path in sorted(non_finite_paths(data))}
            )
        return data
