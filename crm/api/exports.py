"""Lists as files: `?format=csv` or `?format=xlsx` on a list streams every row it matches (ADR 0024).

The request itself only checks and builds: filters, search, ordering and `?expand=` are validated as for
a JSON page (a bad one is the same 400 problem), and the list's query is built without its page. The rows
are read while the body streams, by a server-side cursor (Django's `iterator()`: `DECLARE … CURSOR`, then
`FETCH` in batches of EXPORT_BATCH_ROWS) in a transaction of its own, opened under the caller's identity
again (crm.middleware.streaming_transaction): the request's transaction has ended by the time a WSGI server
iterates the body. So PostgreSQL's policies decide the rows, as for a page, and memory stays one batch
whatever the number of rows.

Columns are the list's fields in the JSON order; an expanded relation (`?expand=organization`) becomes one
column per field of its summary (`organization.id`, `organization.name`, …). CSV is UTF-8 with a byte order
mark (Excel reads it as UTF-8 then), CRLF line ends, a header row, and cells a spreadsheet would run as a
formula prefixed with `'` (OWASP's CSV injection advice). XLSX (openpyxl's write-only mode: rows go to a
temporary file, strings are inline, not a shared table in memory) types its cells: numbers, decimals,
dates and UTC times as such, text always as text, never a formula.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import orjson
from django.conf import settings
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from crm.api.keyset import CURSOR_PARAM, PAGE_SIZE_PARAM

logger = logging.getLogger(__name__)

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Bytes of CSV gathered before they are handed to the server: few, large writes.
CSV_CHUNK_BYTES = 64 * 1024
# Excel's sheet holds 1,048,576 rows: past it the rows go on in another sheet, each with the header.
XLSX_SHEET_ROWS = 1_048_576 - 1
XLSX_CHUNK_BYTES = 256 * 1024
# A cell a spreadsheet would run as a formula (CSV injection); numbers such as "-3" are left alone.
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_FORMULA_STARTS = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# What an XLSX cell cannot hold (XML 1.0 forbids these control characters): dropped.
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")


class ExportRenderer(BaseRenderer):
    """Selects an export by `?format=` or `Accept`; the list streams the body itself (export_response)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        # Only a list streams an export; anything else answering under this renderer is a bug.
        raise NotImplementedError("exports are streamed by crm.api.exports.export_response")


class CSVExportRenderer(ExportRenderer):
    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"


class XLSXExportRenderer(ExportRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"


EXPORT_RENDERERS: tuple[type[ExportRenderer], ...] = (CSVExportRenderer, XLSXExportRenderer)


class FormatParameterNegotiation(DefaultContentNegotiation):
    """`?format=` wins over `Accept` (a download link), and a format the operation does not offer is a 400
    naming the parameter (DRF's default answers 404)."""

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


def wanted(request: Request) -> bool:
    """Whether content negotiation chose an export for this request."""
    return isinstance(getattr(request, "accepted_renderer", None), ExportRenderer)


# --- columns -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    """One column: `key` of the row's representation (of its `subkey`, for an embedded object), and what
    kind of value it holds (for XLSX's cell types)."""

    header: str
    key: str
    subkey: str | None
    kind: str  # "text" | "integer" | "decimal" | "date" | "datetime" | "boolean" | "other"


def _kind(field: drf_fields.Field) -> str:
    if isinstance(field, serializers.PrimaryKeyRelatedField | drf_fields.IntegerField):
        return "integer"
    if isinstance(field, drf_fields.DecimalField):
        return "decimal"
    if isinstance(field, drf_fields.DateTimeField):
        return "datetime"
    if isinstance(field, drf_fields.DateField):
        return "date"
    if isinstance(field, drf_fields.BooleanField):
        return "boolean"
    if isinstance(field, drf_fields.CharField | drf_fields.ChoiceField):
        return "text"
    return "other"


def _readable(serializer: serializers.BaseSerializer[Any]) -> list[tuple[str, drf_fields.Field]]:
    return [(name, field) for name, field in serializer.fields.items() if not field.write_only]  # type: ignore[attr-defined]


def columns_of(
    serializer: serializers.BaseSerializer[Any], expansions: Sequence[str] = ()
) -> list[ExportColumn]:
    """The export's columns for rows `serializer` represents with `expansions` embedded: its fields in their
    order, an embedded object (an expansion, or a nested serializer) as one column per field of it. Lists
    (many=True fields) stay one cell."""
    expandable = getattr(serializer, "expandable", {})
    columns: list[ExportColumn] = []
    names = []
    for name, field in _readable(serializer):
        names.append(name)
        if name in expansions:
            columns.extend(_embedded(name, expandable[name]()()))
        elif isinstance(field, serializers.Serializer):
            columns.extend(_embedded(name, field))
        else:
            columns.append(ExportColumn(name, name, None, _kind(field)))
    for name in expansions:  # an expansion that is not a field comes after them (the JSON's order)
        if name not in names:
            columns.extend(_embedded(name, expandable[name]()()))
    return columns


def _embedded(name: str, summary: serializers.BaseSerializer[Any]) -> list[ExportColumn]:
    return [ExportColumn(f"{name}.{sub}", name, sub, _kind(field)) for sub, field in _readable(summary)]


def cells_of(data: Mapping[str, Any], columns: Sequence[ExportColumn]) -> list[Any]:
    """One represented row's values, column by column (None for an embedded object that is null)."""
    values = []
    for column in columns:
        value = data.get(column.key)
        if column.subkey is not None:
            value = value.get(column.subkey) if isinstance(value, Mapping) else None
        values.append(value)
    return values


# --- CSV ---------------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: text a spreadsheet would run as a formula gets a leading `'`; lists and
    objects are one cell."""
    if type(value) is str:  # the common case first: this runs for every cell
        if value and value[0] in _FORMULA_STARTS and not _NUMBER.match(value):
            return "'" + value
        return value
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "; ".join(csv_cell(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {csv_cell(item)}" for key, item in value.items())
    text = str(value)
    if _FORMULA.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_chunks(columns: Sequence[ExportColumn], rows: Iterator[Mapping[str, Any]]) -> Iterator[bytes]:
    """The CSV file of `rows` in chunks of about CSV_CHUNK_BYTES: a byte order mark, the header, the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([column.header for column in columns])
    for data in rows:
        writer.writerow([csv_cell(value) for value in cells_of(data, columns)])
        if buffer.tell() >= CSV_CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# --- XLSX --------------------------------------------------------------------------------------------


def _xlsx_value(value: Any, kind: str) -> Any:
    """A represented value as an XLSX cell's: numbers, decimals, dates and (UTC, naive: Excel has no zones)
    times typed; text as text (a string cell, never a formula: xlsx_chunks types it)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | Mapping):
        return csv_cell(value)
    if isinstance(value, str):
        try:
            if kind == "decimal":
                return Decimal(value)
            if kind == "datetime":
                moment = dt.datetime.fromisoformat(value)
                if moment.tzinfo is not None:
                    moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
                return moment
            if kind == "date":
                return dt.date.fromisoformat(value)
        except (ValueError, InvalidOperation):
            pass
        return value
    return str(value)


def xlsx_chunks(
    columns: Sequence[ExportColumn],
    rows: Iterator[Mapping[str, Any]],
    sheet: str,
    done: Callable[[], None] = lambda: None,
) -> Iterator[bytes]:
    """The XLSX file of `rows`, in chunks. The workbook is written whole first (a zip's directory comes at
    its end): rows into a temporary file by openpyxl, then the file is read out. `done` is called once the
    rows are read, before the file is sent (the export's transaction ends there)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    kinds = [column.kind for column in columns]
    title = (re.sub(r"[\[\]:*?/\\]", "-", sheet) or "export")[:25]

    def new_sheet(number: int) -> Any:
        worksheet = workbook.create_sheet(title if number == 1 else f"{title} ({number})")
        header = []
        for column in columns:
            cell = WriteOnlyCell(worksheet, value=column.header)
            cell.font = bold
            header.append(cell)
        worksheet.append(header)
        return worksheet

    def text_cell(worksheet: Any, text: str) -> Any:
        # openpyxl makes a string starting with "=" a formula (and "#N/A" an error): typed as text here.
        cell = WriteOnlyCell(worksheet, value="")
        cell._value = text
        cell.data_type = "s"
        return cell

    number = 1
    worksheet = new_sheet(number)
    written = 0
    for data in rows:
        if written == XLSX_SHEET_ROWS:
            number += 1
            worksheet = new_sheet(number)
            written = 0
        values = []
        for value, kind in zip(cells_of(data, columns), kinds, strict=True):
            value = _xlsx_value(value, kind)
            if type(value) is str:
                if _ILLEGAL_XML.search(value):
                    value = _ILLEGAL_XML.sub("", value)
                if value.startswith("=") or value in ERROR_CODES:
                    value = text_cell(worksheet, value)
            values.append(value)
        worksheet.append(values)
        written += 1
    done()
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(XLSX_CHUNK_BYTES):
            yield chunk


# --- the response ------------------------------------------------------------------------------------


class ExportStream:
    """A streamed export's body: the file's chunks, made from rows read in the export's own transaction.

    An iterator with close(): Django's response calls it when the server is done with the body, finished
    or not (a client that went away), so the transaction and its cursor end either way; a body never
    iterated opened none. An error while rows are read is logged and raised again: the server then cuts
    the response short (the status line is long sent), which a client sees as an incomplete body.
    """

    def __init__(
        self,
        rows: Callable[[], contextlib.AbstractContextManager[Iterator[Mapping[str, Any]]]],
        chunks: Callable[[Iterator[Mapping[str, Any]], Callable[[], None]], Iterator[bytes]],
        request_id: str,
    ) -> None:
        self._rows = rows
        self._chunks = chunks
        self._request_id = request_id
        self._body: Iterator[bytes] | None = None
        self._stack = contextlib.ExitStack()

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        try:
            if self._body is None:
                self._body = self._start()
            return next(self._body)
        except StopIteration:
            self.close()
            raise
        except BaseException as exc:
            logger.error("export %s failed while streaming: %r", self._request_id, exc)
            self._end(exc)
            raise

    def _start(self) -> Iterator[bytes]:
        rows = self._stack.enter_context(self._rows())
        return self._chunks(rows, self.close)

    def _end(self, exc: BaseException | None) -> None:
        stack, self._stack = self._stack, contextlib.ExitStack()
        if exc is None:
            stack.close()
        else:
            stack.__exit__(type(exc), exc, exc.__traceback__)

    def close(self) -> None:
        """End the export's transaction (committing nothing: it only read)."""
        self._end(None)


def resource_of(request: Request) -> str:
    """The list's name: the last segment of its path (`interactions`)."""
    segments = [segment for segment in request.path.split("/") if segment]
    return re.sub(r"[^A-Za-z0-9_-]", "-", segments[-1] if segments else "export")


def filename_of(request: Request, extension: str) -> str:
    """`<resource>-<UTC date>.<extension>`."""
    return f"{resource_of(request)}-{timezone.now().date().isoformat()}.{extension}"


def refuse_paging(request: Request) -> None:
    """An export has every row: a cursor or page size with it is a 400 naming them, not silently ignored."""
    given = [name for name in (CURSOR_PARAM, PAGE_SIZE_PARAM) if name in request.query_params]
    if given:
        raise ValidationError(
            {
                name: ["An export (format=csv or xlsx) has every row: it takes no page parameters."]
                for name in given
            }
        )


def export_response(
    request: Request,
    queryset: QuerySet[Any],
    represent: Callable[[Any], Mapping[str, Any]],
    columns: Sequence[ExportColumn],
) -> StreamingHttpResponse:
    """Stream every row of `queryset` (built, filtered and ordered: evaluated only while the body streams)
    as the file the request's renderer names, each row made a mapping by `represent`."""
    from crm.middleware import streaming_transaction
    from crm.rls import context_of

    django_request = request._request
    expected = context_of(request)
    batch = settings.EXPORT_BATCH_ROWS

    @contextlib.contextmanager
    def rows() -> Iterator[Iterator[Mapping[str, Any]]]:
        with streaming_transaction(django_request) as context:
            if context != expected:
                # The caller's access changed between the request and its body (a role, a book, a
                # revoked token): nothing is read for a context the request was not checked under.
                raise PermissionError("the caller's access changed before the export was read")
            found = cast(Generator[Any, None, None], queryset.iterator(chunk_size=batch))
            try:
                yield (represent(row) for row in found)
            finally:
                # The server-side cursor is closed inside its transaction, not whenever the iterator is
                # collected (a CLOSE then could land in another request's transaction).
                found.close()

    renderer = request.accepted_renderer
    request_id = getattr(django_request, "request_id", "")
    if isinstance(renderer, XLSXExportRenderer):
        sheet = resource_of(request)
        stream = ExportStream(rows, lambda found, done: xlsx_chunks(columns, found, sheet, done), request_id)
        response = StreamingHttpResponse(stream, content_type=XLSX_MEDIA_TYPE)
        extension = "xlsx"
    else:
        stream = ExportStream(rows, lambda found, done: csv_chunks(columns, found), request_id)
        response = StreamingHttpResponse(
            stream, content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8; header=present"
        )
        extension = "csv"
    if request.method == "HEAD":  # the headers only: a server may still iterate a body it will not send
        response.streaming_content = iter(())
    response["Content-Disposition"] = f'attachment; filename="{filename_of(request, extension)}"'
    response["Cache-Control"] = "private, no-store"
    return response


def json_row(row: Any) -> Mapping[str, Any]:
    """A row read with ReadPlan.json_rows(): its JSON text (written by PostgreSQL), parsed."""
    parsed: Mapping[str, Any] = orjson.loads(row[0])
    return parsed


class ExportableListMixin:
    """`?format=csv|xlsx` (or `Accept: text/csv|…sheet`) on a generic viewset's list: the export of every
    row its filters, search and ordering match, each represented by the view's serializer. Views that read
    their rows another way override `export()` (TenantModelViewSet: its read plans)."""

    content_negotiation_class: type[BaseContentNegotiation] = FormatParameterNegotiation
    exporting = False  # the search filter reads no page's ids for an export

    def get_renderers(self) -> list[BaseRenderer]:
        renderers: list[BaseRenderer] = super().get_renderers()  # type: ignore[misc]
        if getattr(self, "action", None) == "list":
            renderers += [renderer() for renderer in EXPORT_RENDERERS]
        return renderers

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if wanted(request):
            return self.export(request)
        return super().list(request, *args, **kwargs)  # type: ignore[misc]

    def export(self, request: Request) -> StreamingHttpResponse:
        view: Any = self
        refuse_paging(request)
        self.exporting = True
        queryset = view.filter_queryset(view.get_queryset())
        serializer = view.get_serializer()
        prepare = self.export_instance
        return export_response(
            request,
            queryset,
            lambda instance: serializer.to_representation(prepare(instance)),
            columns_of(serializer),
        )

    def export_instance(self, instance: Any) -> Any:
        """A row as the serializer takes it (what a view's own paginate_queryset does to a page's rows)."""
        return instance
