"""The lists' paginator: keyset pages (crm.api.keyset) with `next`/`previous` links, no COUNT, no OFFSET.

A list's ordering is the ordering filter's (crm.api.filters.ordering_of); its window, the page the request
asks for, is crm.api.keyset's; a manager's page of a principal-scoped list is read merged over the book
(crm.api.book_merge) when that is the better plan. This module only puts them together.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from crm.api import keyset
from crm.api.book_merge import merge_is_chosen, merged_over_book, merges_over_book
from crm.api.filters import list_filters, ordering_of
from crm.api.keyset import MAX_PAGE_SIZE, Window
from crm.rls import context_of


def book_to_merge(request: Request, view: Any, model: type[Model], window: Window) -> list[int] | None:
    """The caller's book when `view`'s page `window` is read merged over it (crm.api.book_merge: the
    filters allow it and the table's statistics say it reads fewer rows), else None: the plain walk."""
    context = context_of(request)
    if merges_over_book(
        list_filters(request), getattr(view, "filterset_class", None), model
    ) and merge_is_chosen(model, window.order, window.limit, context):
        return list(context.book)
    return None


def page_query(queryset: QuerySet[Any], window: Window, book: Sequence[int] | None) -> QuerySet[Any]:
    """The rows `window` reads of `queryset`: past its cursor, in its order, one more than the page; merged
    over `book` (crm.api.book_merge) when given."""
    order = window.order
    if window.values is not None:
        queryset = queryset.filter(keyset.after(order, window.values))
    if book is not None:
        queryset = merged_over_book(queryset, order, window.limit, list(book))
    return queryset.order_by(*order)[: window.limit]


class CursorPagination(BasePagination):
    page_size = keyset.DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = keyset.CURSOR_PARAM
    page_size_query_param = keyset.PAGE_SIZE_PARAM

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        window = keyset.window_of(request, queryset.model, ordering_of(request, view))
        book = None if view is None else book_to_merge(request, view, queryset.model, window)
        return self.take(request, window, list(page_query(queryset, window, book)))

    def paginate(self, queryset: QuerySet[Any], request: Request, ordering: Sequence[str]) -> list[Any]:
        """The page of `queryset` in `ordering` that `request` asks for."""
        window = keyset.window_of(request, queryset.model, ordering)
        return self.take(request, window, list(page_query(queryset, window, None)))

    def take(self, request: Request, window: keyset.Window, rows: list[Any]) -> list[Any]:
        """The page of `window` among `rows` (read by page_query): its rows in order, and its links."""
        self.base_url = request.build_absolute_uri()
        self.ordering = list(window.ordering)
        more = len(rows) > window.size
        rows = rows[: window.size]
        if window.backwards:
            rows.reverse()
        first_page = window.values is None
        self.has_next = (more if not window.backwards else not first_page) and bool(rows)
        self.has_previous = (not first_page if not window.backwards else more) and bool(rows)
        self.first: Model | None = rows[0] if rows else None
        self.last: Model | None = rows[-1] if rows else None
        return rows

    def _link(self, row: Model | None, backwards: bool) -> str | None:
        if row is None:
            return None
        cursor = keyset.encode_cursor(row, self.ordering, backwards)
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link(self.last, False) if self.has_next else None

    def get_previous_link(self) -> str | None:
        return self._link(self.first, True) if self.has_previous else None

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
