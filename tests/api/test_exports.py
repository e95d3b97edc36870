"""Exports: `?format=csv|xlsx` on every list streams every row its filters match, under RLS (ADR 0024)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from crm.api import exports
from tests import factories as f
from tests.api.support import API, PROBLEM, RESOURCES, Resource, assert_problem, walk
from tests.conftest import Firm, client_for

INTERACTIONS = f"{API}/interactions/"


def body_of(response: Any) -> bytes:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response.streaming
    return b"".join(response.streaming_content)


def csv_of(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    raw = body_of(response)
    assert raw.startswith("\ufeff".encode())  # a byte order mark: Excel reads the file as UTF-8
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def csv_ids(client: APIClient, url: str) -> list[int]:
    return [int(row["id"]) for row in csv_of(client.get(with_param(url, "format=csv")))[1]]


def with_param(url: str, param: str) -> str:
    return url + ("&" if "?" in url else "?") + param


def flattened(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": item for sub, item in value.items()})
        else:
            flat[key] = value
    return flat


def interactions_across_the_firm(firm: Firm) -> dict[str, list[int]]:
    """Interactions under principal A (manager's and viewer's book), principal B (another book), none."""
    made: dict[str, list[int]] = {"a": [], "b": [], "shared": []}
    for key, principal in (("a", firm.principal_a), ("b", firm.principal_b), ("shared", None)):
        for _ in range(3):
            made[key].append(
                f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, principal=principal).pk
            )
    return made


# --- every list, every row ----------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_every_list_exports_every_row_of_its_json_pages_with_the_same_values(
    firm: Firm, admin: APIClient, resource: Resource
) -> None:
    made = resource.make(firm, 4)
    ids, pages = walk(admin, resource.url + "?page_size=2")
    assert set(made) <= set(ids)
    header, rows = csv_of(admin.get(with_param(resource.url, "format=csv")))
    assert [int(row["id"]) for row in rows] == ids  # every row, in the list's order: not a page
    json_rows = [flattened(row) for page in pages for row in page["results"]]
    assert header == list(json_rows[0])
    for exported, shown in zip(rows, json_rows, strict=True):
        assert exported == {key: exports.csv_cell(value) for key, value in shown.items()}


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.expand], ids=str)
def test_an_expanded_relation_is_a_column_per_field_of_its_summary(
    firm: Firm, admin: APIClient, resource: Resource
) -> None:
    resource.make(firm, 2)
    url = f"{resource.url}?expand={resource.expand}"
    ids, pages = walk(admin, url)
    header, rows = csv_of(admin.get(with_param(url, "format=csv")))
    assert [int(row["id"]) for row in rows] == ids
    first = pages[0]["results"][0]
    for name in resource.expand.split(","):
        assert name not in header
        summary = next(
            (page_row[name] for page in pages for page_row in page["results"] if page_row[name]), None
        )
        if summary is not None:
            assert {f"{name}.{sub}" for sub in summary} <= set(header)
    assert header[0] == next(iter(first))


def test_filters_search_and_ordering_choose_the_rows_and_their_order(firm: Firm, admin: APIClient) -> None:
    for n in range(6):
        f.InteractionFactory(
            tenant=firm.tenant,
            organization=firm.customer,
            type="call" if n % 2 else "email",
            subject=f"Menu tasting {n}" if n < 4 else f"Price list {n}",
            occurred_at=timezone.now() - dt.timedelta(days=n),
        )
    for query in ("type=call", "search=tasting", "ordering=occurred_at", "type=email&ordering=-id"):
        url = f"{INTERACTIONS}?{query}"
        assert csv_ids(admin, url) == walk(admin, url)[0], query
    assert len(csv_ids(admin, f"{INTERACTIONS}?search=tasting")) == 4
    assert len(csv_ids(admin, f"{INTERACTIONS}?search=tasting&type=call")) == 2


def test_more_rows_than_a_batch_are_all_read(firm: Firm, admin: APIClient, settings: Any) -> None:
    settings.EXPORT_BATCH_ROWS = 2
    made = [f.InteractionFactory(tenant=firm.tenant, organization=firm.customer).pk for _ in range(7)]
    assert sorted(csv_ids(admin, INTERACTIONS)) == sorted(made)


def test_an_empty_export_still_has_its_header(firm: Firm, admin: APIClient) -> None:
    header, rows = csv_of(admin.get(f"{INTERACTIONS}?format=csv"))
    assert rows == []
    assert header[:3] == ["id", "type", "occurred_at"]


# --- the file -----------------------------------------------------------------------------------------


def test_a_csv_export_is_a_dated_attachment_that_no_cache_keeps(firm: Firm, admin: APIClient) -> None:
    response = admin.get(f"{INTERACTIONS}?format=csv")
    body_of(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    today = timezone.now().date().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="interactions-{today}.csv"'
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Request-ID"]


def test_accept_text_csv_chooses_the_export_too(firm: Firm, admin: APIClient) -> None:
    f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    response = admin.get(INTERACTIONS, HTTP_ACCEPT="text/csv")
    assert len(csv_of(response)[1]) == 1
    assert admin.get(INTERACTIONS, HTTP_ACCEPT="*/*")["Content-Type"] == "application/json"


def test_cells_a_spreadsheet_would_run_are_text_in_both_formats(firm: Firm, admin: APIClient) -> None:
    dangerous = ['=HYPERLINK("http://evil")', "+1+2", "@SUM(A1)", "-2+3", "\tTab", "\rReturn"]
    harmless = ["#N/A", "-3", "plain"]
    for text in dangerous + harmless:
        f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, notes=text)
    notes = [row["notes"] for row in csv_of(admin.get(f"{INTERACTIONS}?format=csv"))[1]]
    assert sorted(notes) == sorted(["'" + text for text in dangerous] + harmless)
    sheet = load_workbook(
        io.BytesIO(body_of(admin.get(f"{INTERACTIONS}?format=xlsx"))), read_only=True
    ).active
    column = list(next(sheet.iter_rows(max_row=1, values_only=True))).index("notes")
    cells = [row[column] for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(dangerous + harmless)
    for cell in cells:  # the text as it is (XML reads CR as LF): a string, never a formula or an error
        assert cell.data_type == "s", cell.value
    assert {cell.value.replace("\n", "\r") for cell in cells} == set(dangerous + harmless)


def test_an_xlsx_export_types_its_cells(firm: Firm, admin: APIClient) -> None:
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    f.InteractionFactory(
        tenant=firm.tenant,
        organization=firm.customer,
        occurred_at=when,
        duration_minutes=25,
        follow_up_on=dt.date(2026, 3, 9),
        subject="Naïve café ✓",
    )
    f.OpportunityFactory(
        tenant=firm.tenant,
        principal=firm.principal_a,
        customer=firm.customer,
        weekly_case_volume=Decimal("12.50"),
    )
    response = admin.get(f"{INTERACTIONS}?format=xlsx&expand=organization")
    assert response["Content-Type"] == exports.XLSX_MEDIA_TYPE
    today = timezone.now().date().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="interactions-{today}.xlsx"'
    workbook = load_workbook(io.BytesIO(body_of(response)), read_only=True)
    sheet = workbook["interactions"]
    rows = list(sheet.iter_rows(values_only=True))
    header, values = rows[0], dict(zip(rows[0], rows[1], strict=False))  # trailing empty cells are left out
    assert "organization.name" in header and "organization" not in header
    assert values["occurred_at"] == when.replace(tzinfo=None)  # UTC
    assert values["duration_minutes"] == 25
    assert values["follow_up_on"] == dt.datetime(2026, 3, 9)  # Excel's dates are times at midnight
    assert values["subject"] == "Naïve café ✓"
    assert values["organization.name"] == firm.customer.name
    assert values["follow_up_done"] is False
    deals = load_workbook(
        io.BytesIO(body_of(admin.get(f"{API}/opportunities/?format=xlsx"))), read_only=True
    ).active
    deal = dict(zip(*list(deals.iter_rows(values_only=True)), strict=False))
    assert deal["weekly_case_volume"] == 12.5


def test_an_xlsx_export_goes_on_in_another_sheet_past_the_sheets_rows(
    firm: Firm, admin: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 2)
    made = [f.InteractionFactory(tenant=firm.tenant, organization=firm.customer).pk for _ in range(5)]
    workbook = load_workbook(io.BytesIO(body_of(admin.get(f"{INTERACTIONS}?format=xlsx"))), read_only=True)
    assert workbook.sheetnames == ["interactions", "interactions (2)", "interactions (3)"]
    ids = [row[0] for sheet in workbook for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert sorted(ids) == sorted(made)


# --- row level security -------------------------------------------------------------------------------


def test_a_managers_export_holds_their_book_and_the_shared_rows_only(firm: Firm, manager: APIClient) -> None:
    made = interactions_across_the_firm(firm)
    ids = csv_ids(manager, INTERACTIONS)
    assert set(made["a"]) <= set(ids)
    assert not set(made["b"]) & set(ids)
    assert ids == walk(manager, INTERACTIONS)[0]


def test_a_viewers_export_holds_what_the_viewer_may_see(firm: Firm, viewer: APIClient) -> None:
    made = interactions_across_the_firm(firm)
    ids = csv_ids(viewer, INTERACTIONS)
    assert set(made["a"]) <= set(ids)
    assert not set(made["b"]) & set(ids)
    assert ids == walk(viewer, INTERACTIONS)[0]


def test_another_firms_export_holds_nothing_of_this_firm(firm: Firm, other_firm: Firm) -> None:
    interactions_across_the_firm(firm)
    rival = client_for(other_firm.admin)
    assert csv_ids(rival, INTERACTIONS) == []
    workbook = load_workbook(io.BytesIO(body_of(rival.get(f"{INTERACTIONS}?format=xlsx"))), read_only=True)
    assert len(list(workbook.active.iter_rows())) == 1  # the header


def test_the_export_is_read_as_the_runtime_role(firm: Firm, admin: APIClient, monkeypatch: Any) -> None:
    f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    seen: list[tuple[str, str]] = []
    json_row = exports.json_row

    def spy(row: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting('crm.tenant_id')")
            seen.append(cursor.fetchone())
        return json_row(row)

    monkeypatch.setattr(exports, "json_row", spy)
    csv_ids(admin, INTERACTIONS)
    from crm.rls import runtime_role

    assert seen == [(runtime_role(), str(firm.tenant.pk))]


def test_access_changed_before_the_body_is_read_reads_nothing(firm: Firm, manager: APIClient) -> None:
    interactions_across_the_firm(firm)
    response = manager.get(f"{INTERACTIONS}?format=csv")
    assert response.status_code == 200
    with connection.cursor() as cursor:  # the role changes (and so the token is revoked) meanwhile
        cursor.execute("UPDATE membership SET role = 'viewer' WHERE user_id = %s", [firm.manager.pk])
    with pytest.raises(PermissionError):
        b"".join(response.streaming_content)


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=csv&type=visit-ish", "type"),
        ("format=xlsx&ordering=subject", "ordering"),
        ("format=csv&expand=nothing", "expand"),
        ("format=csv&colour=red", "colour"),
        ("format=csv&cursor=abc", "cursor"),
        ("format=xlsx&page_size=10", "page_size"),
        ("format=pdf", "format"),
    ],
)
def test_a_bad_export_request_is_a_json_problem(firm: Firm, admin: APIClient, query: str, field: str) -> None:
    response = admin.get(f"{INTERACTIONS}?{query}")
    assert response["Content-Type"] == PROBLEM
    assert_problem(response, 400, field=field)


def test_a_single_record_has_no_export(firm: Firm, admin: APIClient) -> None:
    pk = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer).pk
    assert_problem(admin.get(f"{INTERACTIONS}{pk}/?format=csv"), 400, field="format")


def test_signed_out_an_export_is_a_401_problem(firm: Firm) -> None:
    response = APIClient().get(f"{INTERACTIONS}?format=csv")
    assert response["Content-Type"] == PROBLEM
    assert response.status_code == 401


def test_an_error_while_streaming_ends_the_exports_transaction(
    firm: Firm, admin: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    depth = len(connection.savepoint_ids)
    calls = {"n": 0}
    json_row = exports.json_row

    def fails_on_the_second(row: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("lost the database")
        return json_row(row)

    monkeypatch.setattr(exports, "json_row", fails_on_the_second)
    monkeypatch.setattr(exports, "CSV_CHUNK_BYTES", 1)  # a chunk a row: the first is sent before the error
    response = admin.get(f"{INTERACTIONS}?format=csv")
    chunks = iter(response.streaming_content)
    assert next(chunks)  # the header, then the first row
    with pytest.raises(RuntimeError):
        list(chunks)
    assert len(connection.savepoint_ids) == depth  # the export's transaction (a savepoint here) is gone
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('crm.tenant_id', true)")
        assert cursor.fetchone()[0] in ("", None)  # and its context with it
    assert ok_list(admin)


def test_a_client_gone_midway_ends_the_exports_transaction(
    firm: Firm, admin: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    monkeypatch.setattr(exports, "CSV_CHUNK_BYTES", 1)
    depth = len(connection.savepoint_ids)
    response = admin.get(f"{INTERACTIONS}?format=csv")
    next(iter(response.streaming_content))
    assert len(connection.savepoint_ids) == depth + 1  # reading, in its own transaction
    # The server closes the response when the client goes away; the test client's wrapper of the body
    # does, without closing the test's database connection (the request_finished signal would).
    response._iterator.close()
    assert len(connection.savepoint_ids) == depth
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone()[0] == 0  # the server-side cursor is closed
    assert ok_list(admin)


def ok_list(client: APIClient) -> bool:
    return client.get(INTERACTIONS).status_code == 200


# --- cost ---------------------------------------------------------------------------------------------


def export_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        body_of(client.get(url))
    return len(queries)


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_an_exports_queries_do_not_grow_with_its_rows(
    firm: Firm, admin: APIClient, resource: Resource
) -> None:
    url = resource.url + "?format=csv" + (f"&expand={resource.expand}" if resource.expand else "")
    resource.make(firm, 3)
    few = export_queries(admin, url)
    resource.make(firm, 12)
    assert export_queries(admin, url) == few
    assert few <= 12


def test_the_api_keys_list_exports_too_for_its_admins(
    firm: Firm, admin: APIClient, manager: APIClient
) -> None:
    created = admin.post(f"{API}/api-keys/", {"name": "Warehouse feed", "role": "viewer"}, format="json")
    assert created.status_code == 201, created.content
    header, rows = csv_of(admin.get(f"{API}/api-keys/?format=csv"))
    assert [int(row["id"]) for row in rows] == [created.json()["id"]]
    assert "key" not in header  # the secret is shown once, at creation
    assert_problem(manager.get(f"{API}/api-keys/?format=csv"), 403)


def test_a_head_request_reads_no_rows(firm: Firm, admin: APIClient) -> None:
    f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    with CaptureQueriesContext(connection) as queries:
        response = admin.head(f"{INTERACTIONS}?format=csv")
        assert b"".join(response.streaming_content) == b""
    assert response["Content-Disposition"].startswith('attachment; filename="interactions-')
    assert not [q for q in queries if "DECLARE" in q["sql"] or 'FROM "interaction"' in q["sql"]]


def test_an_api_keys_export_holds_what_the_key_may_see(firm: Firm, admin: APIClient) -> None:
    made = interactions_across_the_firm(firm)
    created = admin.post(f"{API}/api-keys/", {"name": "BI", "role": "viewer", "book": [firm.principal_a.pk]})
    assert created.status_code == 201, created.content
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Api-Key {created.json()['key']}")
    ids = csv_ids(key, INTERACTIONS)  # the key is checked again when the body is read
    assert set(made["a"]) <= set(ids) and not set(made["b"]) & set(ids)
    assert ids == walk(key, INTERACTIONS)[0]


def test_a_session_signed_in_admins_export_is_read_under_their_session(firm: Firm) -> None:
    made = interactions_across_the_firm(firm)
    browser = APIClient()
    browser.force_login(firm.admin)
    ids = csv_ids(browser, INTERACTIONS)
    assert set(ids) == {pk for group in made.values() for pk in group}
