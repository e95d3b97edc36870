"""A read plan's representation as JSON text built by PostgreSQL, byte for byte what the renderer writes.

crm.api.fast turns each row into a dict of DRF-identical values in Python (~25 µs a row: parsing time
stamps, formatting them again, a dict store a field). For the column types whose JSON PostgreSQL writes
exactly as DRF and orjson would, the row's JSON object can instead come out of the query as one text value
(`'{"id":' || id::text || ',"name":' || to_json(name)::text || …`), and a page is those texts joined:
Python touches one string a row. A field of any other kind (or a DRF field whose output format was
changed) leaves the plan without SQL JSON, and its Python representation serves.

Exactly equal, for the kinds below (tests/api/test_fast_read.py compares the bytes with DRF's):
- text: `to_json(text)` escapes `"`, `\\`, \\b \\f \\n \\r \\t and other control characters as `\\u00xx`,
  as orjson does; U+2028/U+2029 are escaped by the renderer over the whole body, as for any response;
- integers and booleans: their text;
- dates: `to_json(date)` is ISO 8601 whatever DateStyle says;
- time stamps: DRF's ISO 8601 in UTC with `Z`, microseconds only when not zero; only served when the
  current time zone is UTC (`usable_now`), else the Python path converts to the zone;
- decimals as strings: the column's own scale, when the serializer's decimal places are the same (no
  rounding can differ then).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Expression, TextField
from django.db.models.expressions import Col
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations

TEXT_TYPES = frozenset({"CharField", "TextField"})
INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)

# Templates: `{}` is the column's SQL. NULL is JSON null for every kind (DRF: a None is not converted).
TEXT = "COALESCE(to_json({})::text, 'null')"
PLAIN = "COALESCE(({})::text, 'null')"  # integers, booleans
DATE = TEXT
QUOTED = "COALESCE('\"' || ({})::text || '\"', 'null')"  # decimals as strings
# A time of day as Python's isoformat() writes it: seconds always, microseconds only when there are some.
TIME = (
    "COALESCE('\"' || replace(to_char(DATE '2000-01-01' + ({}), 'HH24:MI:SS.US'), '.000000', '')"
    " || '\"', 'null')"
)
TIMESTAMP = (
    "COALESCE('\"' || replace(to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '')"
    " || 'Z\"', 'null')"
)


def _column_type(model_field: Any) -> tuple[str, Any]:
    """The internal type of the column a model field reads (a foreign key's: its target's), and the field
    that has it."""
    if isinstance(model_field, models.GeneratedField):
        model_field = model_field.output_field
    if model_field.is_relation:
        model_field = model_field.target_field
    return model_field.get_internal_type(), model_field


def template_for(field: drf_fields.Field, model_field: Any) -> str | None:
    """The SQL template writing `field`'s JSON for the column of `model_field`, or None when PostgreSQL's
    text would differ from DRF's (the plan then has no SQL JSON). The field classes and output formats
    are crm.api.fast's fast converters' (its plain_* rules): the same values, written by the database."""
    from crm.api.fast import (
        inherits,
        plain_iso_date,
        plain_iso_datetime,
        plain_iso_time,
        plain_string_decimal,
    )

    def own(base: type[drf_fields.Field]) -> bool:
        return inherits(field, base, "to_representation")

    kind, column = _column_type(model_field)
    if isinstance(field, relations.PrimaryKeyRelatedField):
        # crm.api.fast accepts only the plain primary-key field: the foreign key column is the output.
        return PLAIN if kind in INTEGER_TYPES else None
    if isinstance(field, drf_fields.ChoiceField):
        return TEXT if own(drf_fields.ChoiceField) and kind in TEXT_TYPES else None
    if isinstance(field, drf_fields.CharField):
        return TEXT if own(drf_fields.CharField) and kind in TEXT_TYPES else None
    if isinstance(field, drf_fields.IntegerField):
        return PLAIN if own(drf_fields.IntegerField) and kind in INTEGER_TYPES else None
    if isinstance(field, drf_fields.BooleanField):
        return PLAIN if own(drf_fields.BooleanField) and kind == "BooleanField" else None
    if isinstance(field, drf_fields.DateTimeField):
        ok = own(drf_fields.DateTimeField) and plain_iso_datetime(field)
        return TIMESTAMP if ok and kind == "DateTimeField" else None
    if isinstance(field, drf_fields.DateField):
        return DATE if own(drf_fields.DateField) and plain_iso_date(field) and kind == "DateField" else None
    if isinstance(field, drf_fields.TimeField):
        return TIME if own(drf_fields.TimeField) and plain_iso_time(field) and kind == "TimeField" else None
    if isinstance(field, drf_fields.DecimalField):
        ok = own(drf_fields.DecimalField) and plain_string_decimal(field) and kind == "DecimalField"
        return QUOTED if ok and field.decimal_places == column.decimal_places else None
    if isinstance(field, drf_fields.ReadOnlyField):
        return (
            PLAIN if kind in INTEGER_TYPES or kind == "BooleanField" else TEXT if kind in TEXT_TYPES else None
        )
    return None


UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})


def usable_now() -> bool:
    """Time stamps are written in UTC by the SQL: the current time zone must be UTC for them to be DRF's."""
    return timezone.get_current_timezone_name() in UTC_NAMES


def literal(text: str) -> str:
    """`text` as an SQL string constant (standard_conforming_strings: only quotes are doubled); `%`
    doubled for the driver's placeholder syntax."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'::text"


class JsonText(Expression):
    """Text made of literal pieces and templated expressions, joined with `||` (one row's JSON).

    `pieces`: a str is written as it is (JSON punctuation and keys); `(template, expressions)` is the
    template with `{0}`, `{1}`, … replaced by the compiled expressions (columns, or a nested JsonText).
    """

    output_field = TextField()

    def __init__(self, pieces: list[str | tuple[str, tuple[Any, ...]]]) -> None:
        super().__init__()
        self.pieces = pieces
        # Compiled SQL by the (table alias, column) of each column it reads: the same plan in the same
        # query shape compiles to the same text, so it is put together once (copies share this dict).
        self._compiled: dict[tuple[tuple[str, str], ...], str] = {}
        self._key: tuple[tuple[str, str], ...] | None = None  # this instance's columns', once

    def get_source_expressions(self) -> list[Any]:
        return [expression for piece in self.pieces if not isinstance(piece, str) for expression in piece[1]]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self._key = None  # new columns (resolved, relabeled): their key is computed again
        remaining = iter(exprs)
        self.pieces = [
            piece if isinstance(piece, str) else (piece[0], tuple(next(remaining) for _ in piece[1]))
            for piece in self.pieces
        ]

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> JsonText:
        resolved = self.copy()
        resolved.is_summary = summarize
        resolved.set_source_expressions(
            [
                e.resolve_expression(query, allow_joins, reuse, summarize, for_save)
                for e in self.get_source_expressions()
            ]
        )
        return resolved

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        key = self._key
        if key is None:
            columns: list[Any] = [e for e in self.flatten() if not isinstance(e, JsonText)]
            key = self._key = (
                tuple((e.alias, e.target.column) for e in columns)
                if all(type(e) is Col for e in columns)
                else ()
            )
        if key:
            known = self._compiled.get(key)
            if known is None:
                known, params = self._as_sql(compiler, connection)
                if params:  # never for columns; kept exact all the same
                    return known, params
                self._compiled[key] = known
            return known, []
        return self._as_sql(compiler, connection)

    def _as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        text: list[str] = []  # adjacent literal pieces become one constant
        for piece in self.pieces:
            if isinstance(piece, str):
                text.append(piece)
                continue
            if text:
                parts.append(literal("".join(text)))
                text = []
            compiled = []
            for expression in piece[1]:
                sql, expression_params = compiler.compile(expression)
                compiled.append(sql)
                params.extend(expression_params)
            parts.append(piece[0].format(*compiled))
        if text:
            parts.append(literal("".join(text)))
        return "(" + " || ".join(parts) + ")", params
