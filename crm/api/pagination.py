"""Keyset (cursor) pagination over the whole ordering: no COUNT, no OFFSET, stable under ties.

The cursor is an opaque base64 JSON of the boundary row's ordering values (the ordering always ends
with the primary key, see StrictOrderingFilter) and a direction. A page is `WHERE (ordering) after
(cursor values) ORDER BY ordering LIMIT page_size + 1`; the extra row says whether another page exists.
A deep page costs what the first one does. Only NOT NULL columns are orderable.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from crm.rls import RequestContext, context_of

MAX_PAGE_SIZE = 200
# Past this many principals a book is merged no more (one index range each): the plain query serves it.
MAX_MERGED_BOOK = 64
# Parameters that leave a list unfiltered (its order, page and shape only).
UNFILTERED_PARAMS = frozenset({"cursor", "page_size", "format", "ordering", "expand"})


def merges_over_book(filters: set[str], view: Any, model: type[Model]) -> bool:
    """Whether a list filtered by the query parameters `filters` is read merged over the book.

    The unfiltered list always is. A filtered one only when each per-principal branch stays one bounded
    index range: every filter is a plain equality (no method, lookup `exact`) on a column that, with the
    others, makes up the columns right after (tenant, scope column) of one of the model's indexes — e.g.
    `?stage=` with opportunity_principal_stage (tenant, principal, stage): each branch reads only that
    principal's deals in that stage. Any other filter (a user, a due date, a range, a search) has an
    index of its own that finds its rows across the firm; per-principal branches would each sift through
    the principal's rows for them ("my follow-ups due": 1 → 141 ms when every filtered list was merged).
    """
    if not filters:
        return True
    filterset_class = getattr(view, "filterset_class", None)
    column: str | None = getattr(model, "book_scope_column", None)
    if filterset_class is None or column is None:
        return False
    columns: set[str | None] = set()
    for name in filters:
        spec = filterset_class.base_filters.get(name)
        if spec is None or spec.method is not None or spec.lookup_expr != "exact":
            return False
        try:
            field = model._meta.get_field(spec.field_name)
        except FieldDoesNotExist:
            return False
        columns.add(field.column if isinstance(field, Field) else None)
    return any(columns == set(after[: len(columns)]) for after in _columns_after_book_scope(model, column))


def column_of(model: type[Model], name: str) -> str:
    """The database column of `model`'s concrete field `name`."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise FieldDoesNotExist(f"{model.__name__}.{name} is not a column")
    return field.column


@cache
def _columns_after_book_scope(model: type[Model], scope_column: str) -> list[tuple[str, ...]]:
    """The columns after (tenant_id, `scope_column`) of each index of `model` that leads with them, over
    every row or every live row (the only rows a list reads)."""
    found = []
    for index in model._meta.indexes:
        if index.condition is not None and index.condition != Q(deleted_at__isnull=True):
            continue
        if not index.fields:  # an expression index
            continue
        columns = tuple(column_of(model, name.lstrip("-")) for name in index.fields)
        if columns[:2] == ("tenant_id", scope_column) and len(columns) > 2:
            found.append(columns[2:])
    return found


def page_window(
    request: Request, model: type[Model], ordering: list[str]
) -> tuple[list[str], list[Any] | None, int]:
    """What CursorPagination will read for `request` in `ordering`: the order (reversed for a `previous`
    cursor), the cursor's values (None on the first page) and how many rows (the page and one more).
    For a filter that can narrow to that page itself (crm.api.filters.search); a bad cursor or page size
    is the same 400 the paginator gives."""
    paginator = CursorPagination()
    paginator.ordering = list(ordering)
    if paginator.ordering[-1].lstrip("-") not in ("id", "pk"):
        paginator.ordering.append("-id" if paginator.ordering[-1].startswith("-") else "id")
    size = paginator.get_page_size(request)
    values, backwards = paginator._decode(request.query_params.get(paginator.cursor_query_param), model)
    order = [paginator._flip(f) for f in paginator.ordering] if backwards else paginator.ordering
    return order, values, size + 1


class CursorPagination(BasePagination):
    page_size = 50
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({"page_size": ["A whole number is required."]}) from None
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"page_size": [f"Must be between 1 and {self.max_page_size}."]})
        return size

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.ordering = list(
            getattr(view, "_resolved_ordering", None) or getattr(view, "ordering", None) or ["-id"]
        )
        if self.ordering[-1].lstrip("-") not in ("id", "pk"):
            self.ordering.append("-id" if self.ordering[-1].startswith("-") else "id")
        self.page_size = self.get_page_size(request)
        model = queryset.model
        values, backwards = self._decode(request.query_params.get(self.cursor_query_param), model)

        order = [self._flip(f) for f in self.ordering] if backwards else self.ordering
        if values is not None:
            queryset = queryset.filter(self._after(order, values))
        if merges_over_book(set(request.query_params) - UNFILTERED_PARAMS, view, model):
            queryset = self._merged_over_book(queryset, order, context_of(request))
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
        self.has_next = (more if not backwards else values is not None) and bool(rows)
        self.has_previous = (values is not None if not backwards else more) and bool(rows)
        self.first: Model | None = rows[0] if rows else None
        self.last: Model | None = rows[-1] if rows else None
        return rows

    # --- a manager's page, merged over the book ---------------------------------------------------

    def _merged_over_book(
        self, queryset: QuerySet[Any], order: list[str], context: RequestContext
    ) -> QuerySet[Any]:
        """For a non-admin on a model whose rows are mostly principal-scoped (`book_scope_column`), the
        page's ids picked from one index range per principal of the book, plus the shared rows.

        The policy's `principal_id = ANY(book) OR …` is an OR PostgreSQL cannot walk an index in order
        with: a manager whose book is 10 of a firm's 2,400 principals would otherwise read ~240 rows of the
        firm's recency index per row shown. `unnest(book) CROSS JOIN LATERAL (… WHERE principal_id =
        book.principal_id ORDER BY … LIMIT n) UNION ALL (… shared …) ORDER BY … LIMIT n` reads at most n
        rows of a (tenant, principal, order…, id) index per principal. Only a narrowing: every branch still runs under the caller's policies, and the branches
        cover all a non-admin can see (their book and the shared rows), so no visible row is left out.
        """
        column: str | None = getattr(queryset.model, "book_scope_column", None)
        if column is None or not context.is_member or context.is_admin or len(context.book) > MAX_MERGED_BOOK:
            return queryset
        names = ["id" if field.lstrip("-") == "pk" else field.lstrip("-") for field in order]
        if "id" not in names:
            return queryset
        limit = self.page_size + 1

        def branch(scoped: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
            # An ordered, limited range of ids (and sort keys) of its own: as a LATERAL subquery or a
            # UNION ALL member it is planned apart, so its order and limit must be its own. DISTINCT (from
            # a multiple-choice filter) is not needed for ids.
            ranged = scoped.order_by(*order).values_list(*names)
            ranged.query.distinct = False
            return ranged[:limit].query.sql_with_params()

        # One compiled branch for every principal of the book (LATERAL over the book's ids), one for the
        # shared rows: compiling a branch per principal cost more Python than the whole page's SQL.
        per_principal, per_params = branch(queryset.filter(**{column: RawSQL("crm_book.principal_id", ())}))
        shared, shared_params = branch(queryset.filter(**{f"{column}__isnull": True}))
        columns = [queryset.model._meta.get_field(name).column for name in names]
        sort = ", ".join(
            f'"{column_name}" DESC' if field.startswith("-") else f'"{column_name}"'
            for column_name, field in zip(columns, order, strict=True)
        )
        sql = (
            "SELECT merged.id FROM ("  # noqa: S608 (the ORM's own SQL, column names from the model)
            f"SELECT branch.* FROM unnest(%s::bigint[]) AS crm_book(principal_id)"
            f" CROSS JOIN LATERAL ({per_principal}) AS branch"
            f" UNION ALL ({shared})) AS merged ORDER BY {sort} LIMIT {limit}"
        )
        params = (list(context.book), *per_params, *shared_params)
        return queryset.filter(pk__in=RawSQL(sql, params))  # noqa: S611 (parameters bound, not interpolated)

    # --- cursors ---------------------------------------------------------------------------------

    @staticmethod
    def _flip(field: str) -> str:
        return field[1:] if field.startswith("-") else f"-{field}"

    @staticmethod
    def _after(order: list[str], values: list[Any]) -> Q:
        """Rows strictly after `values` in `order`.

        Columns sorted the same way are compared as one row, `(a, b, id) > (x, y, z)`: PostgreSQL
        turns a row comparison into a btree index bound (its operators are LEAKPROOF, so it stays one
        under row level security), where the equivalent `a > x OR (a = x AND …)` is only a filter and
        a deep page would read every row before it. Where directions change, each run of same-direction
        columns is one row comparison: `(a) > (x) OR (a = x AND (b, id) < (y, z))`.
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

    def _values_of(self, row: Model) -> list[Any]:
        values = []
        for field in self.ordering:
            value = getattr(row, field.lstrip("-"))
            values.append(
                value.isoformat()
                if hasattr(value, "isoformat")
                else str(value)
                if value is not None
                else None
            )
        return values

    def _encode(self, row: Model, backwards: bool) -> str:
        payload = json.dumps(
            {"v": self._values_of(row), "b": backwards, "o": self.ordering}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def _decode(self, raw: str | None, model: type[Model]) -> tuple[list[Any] | None, bool]:
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
            if payload["o"] != self.ordering or len(payload["v"]) != len(self.ordering):
                raise ValueError("ordering changed")
            values = [
                model._meta.get_field(field.lstrip("-")).to_python(value)  # type: ignore[union-attr]
                for field, value in zip(self.ordering, payload["v"], strict=True)
            ]
            return values, bool(payload["b"])
        except (ValueError, KeyError, TypeError, binascii.Error, DjangoValidationError, FieldDoesNotExist):
            raise ValidationError(
                {"cursor": ["Invalid cursor (or the ordering changed since it was issued)."]}
            ) from None

    def _link(self, row: Model | None, backwards: bool) -> str | None:
        if row is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self._encode(row, backwards))

    def get_next_link(self) -> str | None:
        return self._link(self.last, False) if self.has_next else None

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        return self._link(self.first, True)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            OrderedDict(
                [("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a previous page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1–{self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
