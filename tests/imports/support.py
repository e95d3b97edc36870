"""Files for the import tests, made in the test: CSV in a chosen encoding, XLSX written by openpyxl."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from crm import rls
from imports import services
from imports.models import Import


def csv_bytes(rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(user: Any, content: bytes, *, kind: str, file_name: str = "data.csv", **options: Any) -> Import:
    """Starts an import as `user` (without the job) and runs it as the job would: the outcome re-read."""
    with rls.acting_as(user.pk) as context:
        record = services.import_create(
            context=context, content=content, file_name=file_name, kind=kind, defer=False, **options
        )
    return services.import_run(import_id=record.pk, user_id=user.pk)
