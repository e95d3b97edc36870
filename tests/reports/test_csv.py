"""CSV downloads: `?format=csv` on every report, a file name saying what and when, the rows flattened."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from reports.renderers import csv_cell, write_csv
from reports.selectors import iso_week
from tests.reports.support import REPORTS, World

PRINCIPAL_REPORTS = {"distributor-coverage", "principal-scorecard"}
REPORT_NAMES = [
    "pipeline",
    "weekly-activity",
    "follow-ups",
    "stale-accounts",
    "stale-opportunities",
    "win-loss",
    "distributor-coverage",
    "principal-scorecard",
]


def download(
    world: World, report: str, role: str = "manager", **params: object
) -> tuple[Any, list[list[str]]]:
    if report in PRINCIPAL_REPORTS:
        params.setdefault("principal", world.firm.principal_a.pk)
    response = world.client(role).get(f"{REPORTS}/{report}/", {**params, "format": "csv"})
    assert response.status_code == 200, response.content
    return response, list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("report", REPORT_NAMES)
def test_every_report_downloads_as_an_attached_csv_file(world: World, report: str) -> None:
    response, rows = download(world, report)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    stem = f"{report}-acme-principal-a" if report in PRINCIPAL_REPORTS else report
    assert response["Content-Disposition"] == f'attachment; filename="{stem}-{world.today.isoformat()}.csv"'
    assert len(rows) >= 2 and all(len(row) == len(rows[0]) for row in rows)


def test_pipeline_csv_has_each_stage_then_the_principal_total_then_the_overall_total(world: World) -> None:
    a = world.firm.principal_a
    _, rows = download(world, "pipeline")
    assert rows == [
        ["principal", "principal_name", "stage", "open_opportunities", "weekly_case_volume",
         "weighted_weekly_volume", "average_days_in_stage"],
        [str(a.pk), a.name, "new_lead", "2", "30.00", "10.00", "15.0"],
        [str(a.pk), a.name, "demo_scheduled", "1", "8.00", "6.00", "30.0"],
        [str(a.pk), a.name, "total", "3", "38.00", "16.00", "20.0"],
        ["", "All principals", "total", "3", "38.00", "16.00", "20.0"],
    ]  # fmt: skip


def test_weekly_activity_csv_is_one_row_per_principal_and_type_with_a_column_per_week(world: World) -> None:
    _, rows = download(world, "weekly-activity")
    header = rows[0]
    weeks = [iso_week(world.monday - dt.timedelta(weeks=n)) for n in range(7, -1, -1)]
    assert header == ["principal", "principal_name", "type", *weeks, "interactions", "previous_interactions",
                      "change", "change_percent"]  # fmt: skip
    table = {(row[1], row[2]): row[3:] for row in rows[1:]}
    assert table[("Acme Principal A", "all")] == [
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "1",
        "3",
        "5",
        "2",
        "3",
        "150.0",
    ]
    assert table[("Acme Principal A", "call")] == [
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "2",
        "2",
        "2",
        "0",
        "0.0",
    ]
    assert table[("Acme Principal A", "email")][-1] == ""  # no emails before: no percentage
    assert table[("All principals", "all")][-4:] == ["5", "2", "3", "150.0"]


def test_follow_ups_csv_merges_interactions_and_opportunities_oldest_first(world: World) -> None:
    _, rows = download(world, "follow-ups")
    assert [(r[0], r[3]) for r in rows[1:]] == [
        ("interaction", "3"),
        ("opportunity", "2"),
        ("interaction", "0"),
    ]


def test_win_loss_csv_lists_reasons_in_one_cell(world: World) -> None:
    _, rows = download(world, "win-loss")
    header = rows[0]
    total = dict(zip(header, rows[-1], strict=True))
    assert total["principal_name"] == "All principals" and total["quarter"] == "total"
    assert total["win_reasons"] == "Price (2); Better yield (1)"
    assert total["loss_reasons"] == "Incumbent distributor (1)"


def test_scorecard_csv_is_section_item_measure_value(world: World) -> None:
    _, rows = download(world, "principal-scorecard")
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["products", "total", "products", "4"] in rows
    assert ["pipeline", "total", "weighted_weekly_volume", "16.00"] in rows
    assert ["activity", "all", "change_percent", "300.0"] in rows
    assert ["top_customers", "Acme Bistro", "won_weekly_case_volume", "62.00"] in rows


def test_csv_wins_over_an_accept_header_and_errors_stay_problem_details(world: World) -> None:
    client = world.client("manager")
    response = client.get(f"{REPORTS}/pipeline/?format=csv", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    bad = client.get(f"{REPORTS}/pipeline/?format=csv&owner=x")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    assert "Content-Disposition" not in bad
    assert bad.json()["errors"][0]["field"] == "owner"
    options = client.options(f"{REPORTS}/pipeline/?format=csv")
    assert options.status_code == 200 and options["Content-Type"] == "application/json"
    head = client.head(f"{REPORTS}/pipeline/?format=csv")
    assert head.status_code == 200 and head["Content-Disposition"].startswith("attachment;")


def test_csv_cells_cannot_smuggle_spreadsheet_formulas() -> None:
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-3") == "-3" and csv_cell("-1.5") == "-1.5"
    assert csv_cell(None) == "" and csv_cell(True) == "true" and csv_cell(["a", "b"]) == "a; b"
    assert write_csv([{"a": 1, "b": {"c": 2}}, {"a": 3, "d": 4}]) == "a,b.c,d\r\n1,2,\r\n3,,4\r\n"
