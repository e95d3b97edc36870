"""A read's SQL compiled once per request shape and run again with each request's values.

Building a page's query (the filterset's filters, the keyset bound, the merge over the book) and compiling
it costs more Python than anything else the read path does. Two requests of one shape (the same resource,
expansions, ordering, filters present, page size, cursor direction, strategy) differ only in their
values: the firm, an id filtered on, the cursor's position, the book. So the query is built once with
*probe* values in those places, compiled, and every parameter that holds a probe is a slot that later
requests fill with their own values; the SQL text is reused as it is.

Exact by construction, not by assumption: a shape is built twice with two different sets of probes and
kept only when both give the same SQL text, the same constants, and each probe in the same places; a
value that could change the SQL (an integer past 32 bits, which Django's overflow rule may turn into a
constant, a naive date-time, a non-finite decimal) never takes a slot, and the request is built in full.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import QuerySet
from django.db.models.utils import create_namedtuple_class

# Shapes kept per process; past it the cache starts again (the hot shapes come back first). A shape holds
# its compiled query (a few tens of kB).
MAX_SHAPES = 512
# A slot's integers stay within 32 bits: Django compiles a lookup with an integer past its column's range
# into a constant condition, so such a value must be built in full. Every real id is far below.
INT_LIMIT = 2**31


def slot_kind(value: Any) -> str | None:
    """The kind of slot `value` can fill (its probes are of that type), or None when it must be built."""
    kind = type(value)
    if kind is int:
        return "int" if -INT_LIMIT < value < INT_LIMIT else None
    if kind is str:
        return "str"
    if kind is dt.date:
        return "date"
    if kind is dt.datetime:
        return "datetime" if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0) else None
    if kind is decimal.Decimal:
        return "decimal" if value.is_finite() else None
    if kind is list and all(slot_kind(item) == "int" for item in value):
        return "ints"
    return None


def _probe(kind: str, index: int, round_: int) -> Any:
    # Values no query holds as a constant, different in each round and each slot. A probe string carries
    # the characters a LIKE escape would change, so a slot whose value is escaped is never found.
    n = 1_900_000_000 + 1_001 * round_ + index  # odd in one round, even in the other
    if kind == "int":
        return n
    if kind == "str":
        return f"\x1fprobe%_\\{round_}.{index}\x1f"
    if kind == "date":
        return dt.date(2999, 1 + round_, 1 + index % 28)
    if kind == "datetime":
        return dt.datetime(2999, 1 + round_, 1 + index % 28, 1, 2, 3, 4000 + index, tzinfo=dt.UTC)
    if kind == "decimal":
        return decimal.Decimal(f"{n}.{round_ + 1}7")
    return [n, n + 500]  # "ints": a list, matched whole


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Shape:
    """One compiled read: its SQL, its parameters with the slots' places, and how its rows are made."""

    sql: str
    constants: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (parameter index, slot name)
    compiler: Any  # the query's compiler: its converters make the rows what the ORM would have made
    using: str
    tuple_class: type

    def rows(self, values: Mapping[str, Any]) -> list[Any]:
        """The query's rows for `values` (a value for every slot), as the queryset would have made them."""
        params = list(self.constants)
        for index, name in self.slots:
            params[index] = values[name]
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        compiler = self.compiler
        if compiler.has_extra_select:
            fetched = [row[: compiler.col_count] for row in fetched]
        made = compiler.results_iter(results=[fetched], tuple_expected=True)
        new = tuple.__new__
        tuple_class = self.tuple_class
        return [new(tuple_class, row) for row in made]


def _compile(queryset: QuerySet[Any]) -> tuple[str, list[Any], Any]:
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    return sql, list(params), compiler


def _tuple_class(queryset: QuerySet[Any]) -> type:
    """NamedValuesListIterable's row class (Django 5.2): the values_list's names, in its columns' order."""
    query = queryset.query
    names = getattr(queryset, "_fields", None) or (
        *query.extra_select,
        *query.values_select,
        *query.annotation_select,
    )
    return create_namedtuple_class(*names)


_UNCACHEABLE = object()


class ShapeCache:
    """Compiled reads by shape key, each built from a function of the slots' values (see the module)."""

    def __init__(self, limit: int = MAX_SHAPES) -> None:
        self.limit = limit
        self._shapes: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._shapes)

    def shape(
        self, key: Hashable, values: Mapping[str, Any], build: Callable[[Mapping[str, Any]], QuerySet[Any]]
    ) -> Shape | None:
        """The compiled read for `key` (built with `build` on first use), or None when `values` or the
        shape cannot be slotted: the caller then builds the query from the request itself."""
        kinds = []
        for name, value in values.items():
            kind = slot_kind(value)
            if kind is None:
                return None
            kinds.append((name, kind))
        full_key = (key, tuple(kinds))
        found = self._shapes.get(full_key)
        if found is None:
            found = self._build(dict(kinds), build)
            with self._lock:
                if len(self._shapes) >= self.limit:
                    self._shapes = {}
                self._shapes[full_key] = found
        return None if found is _UNCACHEABLE else found

    def _build(self, kinds: Mapping[str, str], build: Callable[[Mapping[str, Any]], QuerySet[Any]]) -> Any:
        probes = [
            {name: _probe(kind, index, round_) for index, (name, kind) in enumerate(kinds.items())}
            for round_ in (0, 1)
        ]
        try:
            first = build(probes[0])
            sql, params, compiler = _compile(first)
            sql_again, params_again, _ = _compile(build(probes[1]))
        except (EmptyResultSet, ValidationError, ValueError, TypeError):
            return _UNCACHEABLE  # a probe the query would not take: the request's own value is needed
        if sql != sql_again or len(params) != len(params_again):
            return _UNCACHEABLE
        slots: list[tuple[int, str]] = []
        constants: list[Any] = []
        for index, (param, again) in enumerate(zip(params, params_again, strict=True)):
            names = [name for name, probe in probes[0].items() if _same(param, probe)]
            if len(names) > 1:
                return _UNCACHEABLE
            if names:
                if not _same(again, probes[1][names[0]]):
                    return _UNCACHEABLE
                slots.append((index, names[0]))
                constants.append(None)
                continue
            if not _same(param, again) or any(_same(again, probe) for probe in probes[1].values()):
                return _UNCACHEABLE  # a parameter that follows a probe without being one
            constants.append(param)
        if {name for _, name in slots} != set(kinds):
            return _UNCACHEABLE  # a value the query did not take as it is: built per request
        return Shape(sql, tuple(constants), tuple(slots), compiler, first.db, _tuple_class(first))
