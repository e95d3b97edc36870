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
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

MAX_PAGE_SIZE = 200


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

    # --- cursors ---------------------------------------------------------------------------------

    @staticmethod
    def _flip(field: str) -> str:
        return field[1:] if field.startswith("-") else f"-{field}"

    @staticmethod
    def _after(order: list[str], values: list[Any]) -> Q:
        """Rows strictly after `values` in `order`: (a > x) OR (a = x AND b > y) OR …"""
        condition = Q()
        equal = Q()
        for field, value in zip(order, values, strict=True):
            name = field.lstrip("-")
            step = Q(**{f"{name}__lt" if field.startswith("-") else f"{name}__gt": value})
            condition |= equal & step
            equal &= Q(**{name: value})
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
