"""Reading an uploaded file into a header and rows of text: CSV (csv module, encoding declared or detected)
or XLSX (openpyxl, read-only, values only), refusing what no import should take before any work is done."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from imports.models import FileType

# Encodings a CSV may be declared in (the `encoding` field), by the names people give them.
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}
ENCODING_CHOICES = sorted(ENCODINGS)

# An XLSX is a zip: what it may unpack to, whatever its own size (a zip bomb is refused before openpyxl
# inflates anything), and how many parts it may have.
XLSX_MAX_UNPACKED_BYTES = 256 * 1024 * 1024
XLSX_MAX_PARTS = 1_000
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003), .doc…


class FileRefused(Exception):
    """The file cannot be imported at all: a 4xx naming why (`status` 400, or 413 for size)."""

    def __init__(self, message: str, *, status: int = 400, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Table:
    """A file as rows of text: the header row and the data rows (row 2 of the file is rows[0])."""

    header: list[str]
    rows: list[list[str]]
    file_type: str
    encoding: str


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.IMPORT_MAX_BYTES, settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS)


def file_type_of(content: bytes, file_name: str) -> str:
    """XLSX when the bytes are a zip, CSV when they are not and the name does not claim a spreadsheet."""
    name = file_name.lower()
    if content.startswith(_ZIP_MAGIC):
        return FileType.XLSX
    if content.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise FileRefused("Excel 97-2003 files (.xls) are not read: save the sheet as XLSX or CSV.")
    if name.endswith((".xlsx", ".xlsm")):
        raise FileRefused("The file is named .xlsx but is not an XLSX workbook.")
    return FileType.CSV


def read_table(content: bytes, *, file_name: str, encoding: str = "", limits: Limits | None = None) -> Table:
    """The file's header and rows, every cell as text ("" when empty), blank rows left out; FileRefused
    for a file that is too large, of another kind, in another encoding, or has too many rows or columns."""
    limits = limits or Limits.from_settings()
    if len(content) > limits.max_bytes:
        raise FileRefused(
            f"The file is {len(content)} bytes; an import takes at most {limits.max_bytes}.", status=413
        )
    if not content:
        raise FileRefused("The file is empty.")
    if file_type_of(content, file_name) == FileType.XLSX:
        if encoding:
            raise FileRefused("An XLSX file has no text encoding to declare.", field="encoding")
        header, rows = _read_xlsx(content, limits)
        return Table(header, rows, FileType.XLSX, "")
    text, used = decode(content, encoding)
    header, rows = _read_csv(text, limits)
    return Table(header, rows, FileType.CSV, used)


# --- CSV -------------------------------------------------------------------------------------------


def decode(content: bytes, declared: str = "") -> tuple[str, str]:
    """The text and the encoding it was read in: the declared one, else a byte order mark's (UTF-8,
    UTF-16), else UTF-8, else Windows-1252 (what Excel on Windows saves as "CSV"). Latin-1 is never
    guessed (it reads any bytes, so it would hide a wrong file): declare it."""
    if declared:
        name = ENCODINGS.get(declared.strip().lower())
        if name is None:
            raise FileRefused(f"Unknown encoding; one of: {', '.join(ENCODING_CHOICES)}.", field="encoding")
        candidates = [name]
    elif content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    for name in candidates:
        try:
            text = content.decode(name)
        except UnicodeDecodeError as error:
            if declared:
                raise FileRefused(
                    f"The file is not valid {declared} (byte {error.start}).", field="encoding"
                ) from None
            continue
        if name == "utf-16" and text.startswith("\ufeff"):
            text = text[1:]
        if "\x00" in text:
            raise FileRefused(
                "The file holds NUL characters: it is not text in this encoding (UTF-16 without a byte "
                "order mark? declare encoding=utf-16le), or not a CSV file at all."
            )
        return text, "utf-8" if name == "utf-8-sig" else name
    raise FileRefused(
        "The file is neither UTF-8 nor Windows-1252 text: declare its encoding (encoding=…), or it is "
        "not a CSV file."
    )


def _delimiter(first_line: str) -> str:
    """Comma, semicolon (European Excel) or tab: whichever the header line has most of."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(text: str, limits: Limits) -> tuple[list[str], list[list[str]]]:
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for cells in reader:
            if header is None:
                if len(cells) > limits.max_columns:
                    raise FileRefused(
                        f"The header has {len(cells)} columns; an import takes at most {limits.max_columns}."
                    )
                header = [cell.strip() for cell in cells]
                continue
            if len(cells) > limits.max_columns:
                raise FileRefused(
                    f"Row {reader.line_num} has {len(cells)} cells; an import takes at most "
                    f"{limits.max_columns} columns."
                )
            if not any(cell.strip() for cell in cells):
                continue
            rows.append(cells)
            if len(rows) > limits.max_rows:
                raise FileRefused(f"The file has more than {limits.max_rows} rows; split it.")
    except csv.Error as error:
        raise FileRefused(f"Not a readable CSV file (line {reader.line_num}): {error}.") from None
    if header is None or not any(header):
        raise FileRefused("The file has no header row.")
    return header, rows


# --- XLSX ------------------------------------------------------------------------------------------


def _check_zip(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        raise FileRefused(f"Not a readable XLSX file: {error}.") from None
    if len(parts) > XLSX_MAX_PARTS:
        raise FileRefused(f"The workbook has {len(parts)} parts; at most {XLSX_MAX_PARTS} are read.")
    unpacked = sum(part.file_size for part in parts)
    if unpacked > XLSX_MAX_UNPACKED_BYTES:
        raise FileRefused(
            f"The workbook unpacks to {unpacked} bytes; at most {XLSX_MAX_UNPACKED_BYTES} are read.",
            status=413,
        )


def xlsx_cell_text(value: Any) -> str:
    """A cell's value as the text a CSV of it would hold: whole numbers without ".0", dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time | Decimal | int):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return str(value)


def _read_xlsx(content: bytes, limits: Limits) -> tuple[list[str], list[list[str]]]:
    """The first worksheet, read-only. Formulas are refused rather than read as their cached values: a
    file written by a program other than Excel often has none, and what a formula computed when the file
    was last saved is not necessarily what the sheet shows; "paste values" is the remedy."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    _check_zip(content)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises KeyError, ValueError, InvalidFileException…
        raise FileRefused(f"Not a readable XLSX file: {type(error).__name__}.") from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileRefused("The workbook has no worksheet.")
        # The declared dimension first (cheap, may be absent or wrong), then every row as it is read.
        if (sheet.max_column or 0) > limits.max_columns:
            raise FileRefused(
                f"The sheet has {sheet.max_column} columns; an import takes at most {limits.max_columns}."
            )
        if (sheet.max_row or 0) > limits.max_rows + 1 + 10_000:
            raise FileRefused(f"The sheet has more than {limits.max_rows} rows; split it.")
        header: list[str] | None = None
        rows: list[list[str]] = []
        for number, cells in enumerate(_sheet_rows(sheet), start=1):
            if len(cells) > limits.max_columns:
                raise FileRefused(
                    f"Row {number} has {len(cells)} cells; an import takes at most {limits.max_columns} columns."
                )
            values = []
            for column, cell in enumerate(cells, start=1):
                if getattr(cell, "data_type", None) == "f":
                    raise FileRefused(
                        f"Cell {get_column_letter(column)}{number} holds a formula: imports take values "
                        "only (copy the sheet and paste values)."
                    )
                values.append(xlsx_cell_text(getattr(cell, "value", None)).strip())
            if header is None:
                header = values
                continue
            if not any(values):
                continue
            rows.append(values)
            if len(rows) > limits.max_rows:
                raise FileRefused(f"The sheet has more than {limits.max_rows} rows; split it.")
    finally:
        workbook.close()
    if header is None or not any(header):
        raise FileRefused("The sheet has no header row.")
    while header and not header[-1]:
        header.pop()
    return header, rows


def _sheet_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    try:
        yield from sheet.iter_rows()
    except FileRefused:
        raise
    except Exception as error:  # a damaged sheet part: XML errors, bad references
        raise FileRefused(f"Not a readable XLSX sheet: {type(error).__name__}.") from None
