"""Reading uploads: real CSV bytes in the encodings spreadsheets save, real XLSX workbooks written by
openpyxl, and the files refused before any work (wrong kind, wrong encoding, too large, too wide, formulas,
zip bombs)."""

from __future__ import annotations

import codecs
import io
import zipfile

import pytest

from imports.columns import map_header
from imports.parsing import XLSX_MAX_UNPACKED_BYTES, FileRefused, Limits, read_table
from tests.imports.support import csv_bytes, xlsx_bytes

LIMITS = Limits(max_bytes=1_000_000, max_rows=100, max_columns=10)
ROWS = [
    ["Company", "City", "Notes"],
    ["Café Crème", "Zürich", "naïve — “quoted”"],
    ["Smørrebrød Hus", "Århus", ""],
]


def table_of(
    content: bytes, name: str = "orgs.csv", encoding: str = ""
) -> tuple[list[str], list[list[str]], str]:
    table = read_table(content, file_name=name, encoding=encoding, limits=LIMITS)
    return table.header, table.rows, table.encoding


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (csv_bytes(ROWS, encoding="utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + csv_bytes(ROWS, encoding="utf-8"), "utf-8"),
        (csv_bytes(ROWS, encoding="utf-16"), "utf-16"),  # Python writes the BOM, as Excel's "Unicode text"
        (csv_bytes(ROWS, encoding="cp1252"), "cp1252"),  # Excel on Windows, "CSV (Comma delimited)"
    ],
    ids=["utf-8", "utf-8 with BOM", "utf-16 with BOM", "windows-1252"],
)
def test_a_csv_is_read_in_the_encoding_it_was_saved_in_without_being_told(
    content: bytes, detected: str
) -> None:
    header, rows, encoding = table_of(content)
    assert header == ROWS[0]
    assert rows == [ROWS[1], ROWS[2]]
    assert encoding == detected


def test_a_declared_encoding_is_used_and_a_file_not_in_it_is_refused() -> None:
    latin = csv_bytes([["Company"], ["Crème brûlée"]], encoding="latin-1")
    assert table_of(latin, encoding="latin-1")[1] == [["Crème brûlée"]]
    utf16le = csv_bytes([["Company"], ["Zoë"]], encoding="utf-16-le")  # no BOM: must be declared
    assert table_of(utf16le, encoding="utf-16le")[1] == [["Zoë"]]
    with pytest.raises(FileRefused, match="holds NUL characters") as refused:
        table_of(utf16le)
    assert refused.value.status == 400
    with pytest.raises(FileRefused, match="not valid utf-8") as refused:
        table_of(latin, encoding="utf-8")
    assert refused.value.field == "encoding"


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused() -> None:
    with pytest.raises(FileRefused, match="neither UTF-8 nor Windows-1252"):
        table_of(b"Company\r\n\x81\x8d\x8f\x90\x9d\r\n")


def test_semicolons_and_tabs_separate_columns_as_european_excel_and_tsv_files_do() -> None:
    assert table_of(csv_bytes(ROWS, delimiter=";"))[1][0] == ROWS[1]
    assert table_of(csv_bytes(ROWS, delimiter="\t"))[1][0] == ROWS[1]


def test_blank_rows_are_skipped_and_quoted_newlines_kept() -> None:
    _header, rows, _ = table_of(
        csv_bytes([["Company", "Notes"], ["A", "line one\nline two"], ["", ""], ["B", ""]])
    )
    assert rows == [["A", "line one\nline two"], ["B", ""]]


def test_an_xlsx_is_read_from_its_first_sheet_values_as_text() -> None:
    import datetime

    content = xlsx_bytes(
        [
            ["Company", "Price", "Since", "Primary"],
            ["Café Crème", 12.5, datetime.date(2024, 3, 1), True],
            ["B", 7, None, False],
        ]
    )
    header, rows, encoding = table_of(content, "orgs.xlsx")
    assert header == ["Company", "Price", "Since", "Primary"]
    assert rows == [["Café Crème", "12.5", "2024-03-01", "true"], ["B", "7", "", "false"]]
    assert encoding == ""


def test_an_xlsx_formula_is_refused_naming_its_cell() -> None:
    content = xlsx_bytes([["Company", "Price"], ["A", 2], ["B", "=B2*2"]])
    with pytest.raises(FileRefused, match="Cell B3 holds a formula"):
        table_of(content, "orgs.xlsx")


def test_files_of_another_kind_are_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    with pytest.raises(FileRefused, match="NUL characters"):
        table_of(png, "logo.png")
    with pytest.raises(FileRefused, match=r"\.xls"):
        table_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls")
    with pytest.raises(FileRefused, match="not an XLSX workbook"):
        table_of(b"Company\r\nA\r\n", "orgs.xlsx")
    with pytest.raises(FileRefused, match="Not a readable XLSX"):
        table_of(b"PK\x03\x04garbage", "orgs.xlsx")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(FileRefused, match="Not a readable XLSX"):
        table_of(zipped.getvalue(), "orgs.xlsx")
    with pytest.raises(FileRefused, match="empty"):
        table_of(b"")


def test_a_file_over_the_size_limit_is_a_413() -> None:
    with pytest.raises(FileRefused) as refused:
        read_table(b"Company\r\n" + b"A\r\n" * 600, file_name="a.csv", limits=Limits(1000, 10_000, 10))
    assert refused.value.status == 413


def test_a_zip_bomb_is_refused_before_anything_is_inflated() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (XLSX_MAX_UNPACKED_BYTES + 1))
    assert len(bomb.getvalue()) < 1_000_000  # ~260 kB that would unpack to 256 MB
    with pytest.raises(FileRefused, match="unpacks to") as refused:
        table_of(bomb.getvalue(), "bomb.xlsx")
    assert refused.value.status == 413


def test_too_many_columns_or_rows_are_refused() -> None:
    wide = [[f"c{i}" for i in range(11)], ["x"] * 11]
    with pytest.raises(FileRefused, match="11 columns"):
        table_of(csv_bytes(wide))
    with pytest.raises(FileRefused, match="11 columns"):
        table_of(xlsx_bytes(wide), "wide.xlsx")
    with pytest.raises(FileRefused, match="Row 2 has 12 cells"):
        table_of(csv_bytes([["Company"], ["x"] * 12]))
    with pytest.raises(FileRefused, match="more than 100 rows"):
        table_of(csv_bytes([["Company"]] + [[f"n{i}"] for i in range(101)]))


def test_a_sheet_as_wide_as_excel_allows_is_refused_from_its_dimension() -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.cell(row=1, column=1, value="Company")
    workbook.active.cell(row=1, column=16_384, value="far away")
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(FileRefused, match="16384 columns"):
        table_of(out.getvalue(), "wide.xlsx")


def test_headers_map_by_name_and_synonym_and_the_mapping_overrides_them() -> None:
    header = ["Account Name", "E-mail", "Postal Code", "Zip", "Fax"]
    with pytest.raises(FileRefused, match="'Postal Code' and 'Zip' both give postal_code"):
        map_header("organizations", header, {})
    mapped = map_header("organizations", header, {"Zip": None, "Fax": "phone"})
    assert mapped == {0: "name", 1: "email", 2: "postal_code", 4: "phone"}
    with pytest.raises(FileRefused, match="does not have") as refused:
        map_header("organizations", header, {"Nope": "name"})
    assert refused.value.field == "mapping"
    with pytest.raises(FileRefused, match="not a field of organizations imports"):
        map_header("organizations", header, {"Zip": None, "Fax": "fax"})
    with pytest.raises(FileRefused, match="No column for name"):
        map_header("organizations", ["City"], {})
    with pytest.raises(FileRefused, match="product \\(or principal and sku\\)"):
        map_header("product_distributors", ["Distributor", "Principal"], {})
