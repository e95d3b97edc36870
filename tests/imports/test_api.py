"""POST /api/v1/imports/ (multipart), the import's detail, list, errors and row report, over HTTP as members
of each role: problems for every refusal, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from imports import services
from imports.models import Import
from organizations.models import Organization
from tests.conftest import Firm
from tests.imports.support import csv_bytes, xlsx_bytes

URL = "/api/v1/imports/"
ORGS = csv_bytes(
    [["Company", "Type", "E-mail"], ["Corner Deli", "customer", "x@corner.example"], ["Bad", "nope", ""]]
)


def upload(client: Any, content: bytes, name: str = "orgs.csv", **fields: Any) -> Any:
    data = {"kind": "organizations", **fields, "file": SimpleUploadedFile(name, content)}
    return client.post(URL, data, format="multipart")


def run_job(response: Any, user: Any) -> Import:
    """What the worker would do with the deferred job (tests/imports/test_worker.py runs a real one)."""
    return services.import_run(import_id=response.json()["id"], user_id=user.pk)


def test_an_upload_is_accepted_queued_and_followed_to_its_summary(firm: Firm, api: Any) -> None:
    client = api(firm.manager)
    response = upload(client, ORGS, mode="per_row")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"].endswith(f"{URL}{body['id']}/")
    assert {
        k: body[k]
        for k in (
            "kind",
            "state",
            "rows_total",
            "rows_processed",
            "file_name",
            "file_type",
            "mode",
            "dry_run",
        )
    } == {
        "kind": "organizations",
        "state": "queued",
        "rows_total": 2,
        "rows_processed": 0,
        "file_name": "orgs.csv",
        "file_type": "csv",
        "mode": "per_row",
        "dry_run": False,
    }
    import hashlib

    assert body["file_sha256"] == hashlib.sha256(ORGS).hexdigest()
    assert body["created_by"] == firm.manager.pk
    run_job(response, firm.manager)
    detail = client.get(response["Location"]).json()
    assert detail["state"] == "succeeded"
    assert detail["rows_processed"] == 2
    assert {k: detail["summary"][k] for k in ("create", "update", "unchanged", "error")} == {
        "create": 1,
        "update": 0,
        "unchanged": 0,
        "error": 1,
    }
    assert detail["first_errors"] == [
        {"row": 3, "column": "Type", "message": '"nope" is not a valid choice.'}
    ]
    assert Organization.objects.filter(name="Corner Deli").exists()


def test_errors_download_as_csv_and_the_report_gives_every_row(firm: Firm, api: Any) -> None:
    client = api(firm.admin)
    response = upload(client, ORGS, dry_run="true")
    run_job(response, firm.admin)
    errors = client.get(f"{response['Location']}errors/?format=csv")
    assert errors.status_code == 200
    assert errors["Content-Type"].startswith("text/csv")
    assert "attachment" in errors["Content-Disposition"]
    assert errors.content.decode().splitlines() == [
        "row,column,message",
        '3,Type,"""nope"" is not a valid choice."',
    ]
    assert client.get(f"{response['Location']}errors/").json() == [
        {"row": 3, "column": "Type", "message": '"nope" is not a valid choice.'}
    ]
    report = client.get(f"{response['Location']}report/").json()
    assert [(r["row"], r["action"], r["id"]) for r in report] == [(2, "create", None), (3, "error", None)]
    assert (
        client.get(f"{response['Location']}report/?format=csv").content.decode().splitlines()[0]
        == "row,action,id,errors"
    )
    assert not Organization.objects.filter(name="Corner Deli").exists()  # a dry run


def test_an_xlsx_upload_with_a_mapping_override(firm: Firm, api: Any) -> None:
    content = xlsx_bytes([["Shop", "Kind"], ["Corner Deli", "customer"]])
    response = upload(api(firm.admin), content, "shops.xlsx", mapping='{"Shop": "name", "Kind": "type"}')
    assert response.status_code == 202, response.json()
    assert run_job(response, firm.admin).summary["create"] == 1


def test_members_see_their_own_imports_and_admins_every_one(firm: Firm, api: Any) -> None:
    mine = upload(api(firm.manager), ORGS).json()["id"]
    theirs = upload(api(firm.other_manager), ORGS).json()["id"]
    assert [i["id"] for i in api(firm.manager).get(URL).json()["results"]] == [mine]
    assert api(firm.manager).get(f"{URL}{theirs}/").status_code == 404
    assert [i["id"] for i in api(firm.admin).get(URL).json()["results"]] == [theirs, mine]


def test_another_firm_sees_nothing(firm: Firm, other_firm: Firm, api: Any) -> None:
    mine = upload(api(firm.admin), ORGS).json()["id"]
    client = api(other_firm.admin)
    assert client.get(URL).json()["results"] == []
    for path in ("", "errors/", "report/"):
        response = client.get(f"{URL}{mine}/{path}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_viewers_cannot_import(firm: Firm, api: Any) -> None:
    response = upload(api(firm.viewer), ORGS)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["request_id"]
    assert not Import.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "fields", "field", "detail"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "logo.png", {}, "file", "NUL characters"),
        (b"Company\r\n\x81\x8d\r\n", "orgs.csv", {}, "file", "neither UTF-8 nor Windows-1252"),
        (b"Company\r\nCaf\xe9\r\n", "orgs.csv", {"encoding": "utf-8"}, "encoding", "not valid utf-8"),
        (xlsx_bytes([["Company"], ["=1+1"]]), "orgs.xlsx", {}, "file", "Cell A2 holds a formula"),
        (csv_bytes([["City"], ["Salem"]]), "orgs.csv", {}, "file", "No column for name"),
        (csv_bytes([[f"c{i}" for i in range(201)]]), "wide.csv", {}, "file", "201 columns"),
        (ORGS, "orgs.csv", {"mapping": "[1]"}, "mapping", "A JSON object"),
        (ORGS, "orgs.csv", {"kind": "widgets"}, "kind", "not a valid choice"),
        (b"", "orgs.csv", {}, "file", "The file is empty."),
    ],
    ids=[
        "png",
        "bad-encoding",
        "declared-encoding",
        "formula",
        "no-name-column",
        "too-wide",
        "mapping",
        "kind",
        "empty",
    ],
)
def test_bad_files_are_400_problems_naming_the_field(
    firm: Firm, api: Any, content: bytes, name: str, fields: dict[str, str], field: str, detail: str
) -> None:
    response = upload(api(firm.admin), content, name, **fields)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == field and detail in error["detail"], error
    assert not Import.objects.exists()


@override_settings(IMPORT_MAX_BYTES=1000)
def test_a_file_over_the_limit_is_a_413_problem(firm: Firm, api: Any) -> None:
    response = upload(api(firm.admin), b"Company,Type\r\n" + b"Some Deli,customer\r\n" * 60)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "file"


def test_a_huge_upload_is_refused_by_its_length_before_its_body_is_read(firm: Firm, api: Any) -> None:
    client = api(firm.admin)
    response = client.generic(
        "POST", URL, b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(1024**3)
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_a_file_larger_than_other_bodies_may_be_is_taken(firm: Firm, api: Any, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1000  # every other request's limit; an import's is IMPORT_MAX_BYTES
    content = csv_bytes([["Company", "Type"]] + [[f"Shop number {i}", "customer"] for i in range(500)])
    assert len(content) > 10_000
    response = upload(api(firm.admin), content)
    assert response.status_code == 202, response.content
    assert response.json()["rows_total"] == 500
    assert api(firm.admin).post("/api/v1/organizations/", {"name": "x" * 2000}).status_code == 413


def test_options_of_a_download_with_format_csv_describes_it(firm: Firm, api: Any) -> None:
    record = upload(api(firm.admin), ORGS).json()["id"]
    for path in ("errors", "report"):
        response = api(firm.admin).options(f"{URL}{record}/{path}/?format=csv")
        assert response.status_code == 200


def test_a_json_body_is_refused_as_unsupported(firm: Firm, api: Any) -> None:
    response = api(firm.admin).post(URL, {"kind": "organizations"}, format="json")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


def test_the_list_reads_in_the_same_queries_however_many_imports(firm: Firm, api: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(firm.admin)
    run_job(upload(client, ORGS), firm.admin)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL).json()["results"]) == 1
    for _ in range(3):
        run_job(upload(client, ORGS), firm.admin)
    with CaptureQueriesContext(connection) as four:
        results = client.get(URL).json()["results"]
    assert len(results) == 4
    assert results[0]["first_errors"] == [
        {"row": 3, "column": "Type", "message": '"nope" is not a valid choice.'}
    ]
    assert len(four) == len(one) <= 8, [q["sql"][:80] for q in four.captured_queries]
    assert not any("content" in q["sql"] or '"report"' in q["sql"] for q in four.captured_queries)


def test_an_upload_sent_again_with_its_idempotency_key_starts_one_import(firm: Firm, api: Any) -> None:
    client = api(firm.admin)

    def send() -> Any:
        data = {"kind": "organizations", "file": SimpleUploadedFile("orgs.csv", ORGS)}
        return client.post(URL, data, format="multipart", HTTP_IDEMPOTENCY_KEY="import-orgs-1")

    first, again = send(), send()
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Import.objects.count() == 1
