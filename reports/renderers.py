"""CSV downloads of the reports (`?format=csv`): a DRF renderer writing the rows a report view flattens."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# A cell a spreadsheet would run as a formula (CSV injection); numbers such as "-3" are left alone.
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(csv_cell(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {csv_cell(item)}" for key, item in value.items())
    text = str(value)
    if _FORMULA.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} → {"a.b": 1}; lists stay values (one cell)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def write_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV, with a header of every column in the order first seen."""
    flat = [flatten(row) for row in rows]
    header: dict[str, None] = {}
    for row in flat:
        header.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(header))
    for row in flat:
        writer.writerow([csv_cell(row.get(name)) for name in header])
    return out.getvalue()


class CSVRenderer(BaseRenderer):
    """Renders what the view's `csv_rows(data)` makes of the response data."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        view = (renderer_context or {}).get("view")
        rows = view.csv_rows(data) if view is not None and hasattr(view, "csv_rows") else data
        return write_csv(rows).encode(self.charset)


class FormatOverrideNegotiation(DefaultContentNegotiation):
    """`?format=csv` is a download link: it wins over whatever the Accept header says, and an unknown
    format is a 400 naming the parameter (DRF's default answers 404 or 406)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if not wanted:
            return super().select_renderer(request, renderers, format_suffix)
        for renderer in renderers:
            if renderer.format == wanted:
                return renderer, renderer.media_type
        choices = ", ".join(r.format for r in renderers)
        raise ValidationError({self.settings.URL_FORMAT_OVERRIDE: [f"Must be one of {choices}."]})
