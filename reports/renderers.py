"""CSV downloads of the reports (`?format=csv`): a DRF renderer writing the rows a report view flattens."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

# One rule for every CSV cell the service writes (formula-safe, lists as one cell): the exports'.
from crm.api.exports import csv_cell


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
