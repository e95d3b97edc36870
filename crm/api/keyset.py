"""Keyset positions: a list's page as a window over its ordering, and the opaque cursor that says where.

A list's ordering always ends with the primary key (`complete`), so a position is unique. A page is
`WHERE (ordering) after (cursor values) ORDER BY ordering LIMIT size + 1`; the extra row says whether
another page exists. A deep page costs what the first one does. Only NOT NULL columns are orderable: a
cursor cannot point at a NULL position.

The cursor is base64 JSON of the boundary row's ordering values, the direction, and the ordering it was
issued for (a cursor from another ordering is refused rather than read wrongly).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, GeneratedField, Model, Q
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"


def page_size_of(request: Request) -> int:
    """`?page_size=`, 1 to MAX_PAGE_SIZE (DEFAULT_PAGE_SIZE when absent); anything else is a 400 naming it."""
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ValidationError({PAGE_SIZE_PARAM: ["A whole number is required."]}) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError({PAGE_SIZE_PARAM: [f"Must be between 1 and {MAX_PAGE_SIZE}."]})
    return size


def complete(ordering: Sequence[str]) -> list[str]:
    """`ordering` ending with the primary key, in the direction of its last field."""
    fields = list(ordering) or ["-id"]
    if fields[-1].lstrip("-") not in ("id", "pk"):
        fields.append("-id" if fields[-1].startswith("-") else "id")
    return fields


def flip(field: str) -> str:
    return field[1:] if field.startswith("-") else f"-{field}"


@dataclass(frozen=True)
class Window:
    """One page of a list: its ordering (ending with the primary key), the cursor's values (None on the
    first page), whether the cursor points backwards (a `previous` link), and the page size."""

    ordering: tuple[str, ...]
    values: list[Any] | None
    backwards: bool
    size: int

    @property
    def order(self) -> list[str]:
        """The order to read in: the ordering, reversed for a backwards cursor."""
        return [flip(field) for field in self.ordering] if self.backwards else list(self.ordering)

    @property
    def limit(self) -> int:
        """Rows to read: the page and one more, which says whether there is another page."""
        return self.size + 1


def window_of(request: Request, model: type[Model], ordering: Sequence[str]) -> Window:
    """The page `request` asks for (`?cursor=`, `?page_size=`) of `model`'s list in `ordering`; a bad cursor
    or page size is a 400 naming it."""
    fields = tuple(complete(ordering))
    size = page_size_of(request)
    values, backwards = decode_cursor(request.query_params.get(CURSOR_PARAM), model, fields)
    return Window(ordering=fields, values=values, backwards=backwards, size=size)


def after(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `order`.

    Columns sorted the same way are compared as one row, `(a, b, id) > (x, y, z)`: PostgreSQL turns a
    row comparison into a btree index bound (its operators are LEAKPROOF, so it stays one under row level
    security), where the equivalent `a > x OR (a = x AND …)` is only a filter and a deep page would read
    every row before it. Where directions change, each run of same-direction columns is one row
    comparison: `(a) > (x) OR (a = x AND (b, id) < (y, z))`.
    """
    runs: list[list[tuple[str, Any]]] = []
    for field, value in zip(order, values, strict=True):
        if runs and runs[-1][0][0].startswith("-") == field.startswith("-"):
            runs[-1].append((field, value))
        else:
            runs.append([(field, value)])
    condition = Q()
    equal = Q()
    for run in runs:
        names = [field.lstrip("-") for field, _ in run]
        bound = [value for _, value in run]
        descending = run[0][0].startswith("-")
        if len(run) == 1:
            step = Q(**{f"{names[0]}__lt" if descending else f"{names[0]}__gt": bound[0]})
        else:
            lookup = TupleLessThan if descending else TupleGreaterThan
            step = Q(lookup(Tuple(*(F(name) for name in names)), bound))
        condition |= equal & step
        equal &= Q(**dict(zip(names, bound, strict=True)))
    return condition


def _position_of(row: Model, ordering: Sequence[str]) -> list[Any]:
    values = []
    for field in ordering:
        value = getattr(row, field.lstrip("-"))
        values.append(
            value.isoformat() if hasattr(value, "isoformat") else str(value) if value is not None else None
        )
    return values


def encode_cursor(row: Model, ordering: Sequence[str], backwards: bool) -> str:
    """The cursor of `row`'s position in `ordering` (pointing backwards for a `previous` link)."""
    payload = json.dumps(
        {"v": _position_of(row, ordering), "b": backwards, "o": list(ordering)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _value_field(model: type[Model], name: str) -> Any:
    """The field that types `name`'s values: a generated column's output field (its own to_python keeps
    text as text), else the field itself."""
    field = model._meta.get_field(name)
    return field.output_field if isinstance(field, GeneratedField) else field


def decode_cursor(
    raw: str | None, model: type[Model], ordering: Sequence[str]
) -> tuple[list[Any] | None, bool]:
    """The values and direction of cursor `raw` issued for `model`'s list in `ordering`; (None, False)
    without one. Anything but a cursor this service issued for that ordering is a 400 naming `cursor`."""
    if not raw:
        return None, False
    try:
        padded = raw + "=" * (-len(raw) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, dict) or not isinstance(payload["v"], list):
            raise ValueError("not a cursor")
        for value in payload["v"]:
            # Ordering columns are NOT NULL scalars; ints must fit a bigint, text cannot hold NUL.
            if value is None or isinstance(value, list | dict):
                raise ValueError("not a position value")
            if (isinstance(value, str) and "\x00" in value) or (
                isinstance(value, int) and abs(value) >= 2**63
            ):
                raise ValueError("not a position value")
        if payload["o"] != list(ordering) or len(payload["v"]) != len(ordering):
            raise ValueError("ordering changed")
        values = [
            _value_field(model, field.lstrip("-")).to_python(value)
            for field, value in zip(ordering, payload["v"], strict=True)
        ]
        return values, bool(payload["b"])
    except (ValueError, KeyError, TypeError, binascii.Error, DjangoValidationError, FieldDoesNotExist):
        raise ValidationError(
            {CURSOR_PARAM: ["Invalid cursor (or the ordering changed since it was issued)."]}
        ) from None
