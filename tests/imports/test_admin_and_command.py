"""The admin's import page (upload and report, as the member under RLS) and `manage.py import_file`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from imports import services
from imports.models import Import
from organizations.models import Organization
from tests.admin.support import signed_in
from tests.conftest import Firm
from tests.imports.support import csv_bytes, xlsx_bytes

PAGE = "/admin/imports/"
ORGS = [["Company", "Type"], ["Corner Deli", "customer"], ["Bad", "nope"]]


def test_a_member_uploads_on_the_admin_page_and_reads_the_report(firm: Firm) -> None:
    client = signed_in(firm.manager)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Import a file" in page.content
    response = client.post(
        PAGE,
        {"file": SimpleUploadedFile("orgs.csv", csv_bytes(ORGS)), "kind": "organizations", "mode": "per_row"},
    )
    assert response.status_code == 302
    record = Import.objects.get()
    assert response["Location"].endswith(f"?id={record.pk}")
    services.import_run(import_id=record.pk, user_id=firm.manager.pk)
    report = client.get(f"{PAGE}?id={record.pk}").content.decode()
    assert "succeeded" in report and "Create 1, update 0, unchanged 0, error 1" in report
    assert "&quot;nope&quot; is not a valid choice." in report
    # Another manager sees neither the import nor its report.
    other = signed_in(firm.other_manager).get(f"{PAGE}?id={record.pk}").content.decode()
    assert "Corner Deli" not in other and "orgs.csv" not in other


def test_a_bad_file_is_shown_on_the_form_and_viewers_get_no_form(firm: Firm) -> None:
    client = signed_in(firm.admin)
    formula = xlsx_bytes([["Company"], ["=A1"]])
    response = client.post(
        PAGE, {"file": SimpleUploadedFile("x.xlsx", formula), "kind": "organizations", "mode": "per_row"}
    )
    assert response.status_code == 200 and b"Cell A2 holds a formula" in response.content
    assert not Import.objects.exists()
    viewer = signed_in(firm.viewer)
    assert b"Import a file" not in viewer.get(PAGE).content
    viewer.post(
        PAGE,
        {"file": SimpleUploadedFile("orgs.csv", csv_bytes(ORGS)), "kind": "organizations", "mode": "per_row"},
    )
    assert not Import.objects.exists()


def test_import_file_runs_an_import_from_a_shell_with_progress_and_summary(
    firm: Firm, tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "orgs.csv"
    path.write_bytes(csv_bytes([["Company", "Type"], ["Corner Deli", "customer"]], encoding="cp1252"))
    call_command(
        "import_file",
        str(path),
        tenant=firm.tenant.name,
        user=firm.admin.email,
        kind="organizations",
        dry_run=True,
    )
    out, err = capsys.readouterr()
    assert "1/1 rows" in err
    assert "succeeded" in out and "1 create, 0 update, 0 unchanged, 0 error" in out and "Dry run" in out
    assert not Organization.objects.filter(name="Corner Deli").exists()
    call_command(
        "import_file", str(path), tenant=str(firm.tenant.pk), user=str(firm.admin.pk), kind="organizations"
    )
    assert Organization.objects.filter(name="Corner Deli").exists()


def test_import_file_refuses_what_the_api_refuses(firm: Firm, other_firm: Firm, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_bytes(csv_bytes(ORGS))
    with pytest.raises(CommandError, match="not a member of"):
        call_command(
            "import_file",
            str(path),
            tenant=other_firm.tenant.name,
            user=firm.admin.email,
            kind="organizations",
        )
    with pytest.raises(CommandError, match="viewers cannot import"):
        call_command(
            "import_file", str(path), tenant=firm.tenant.name, user=firm.viewer.email, kind="organizations"
        )
    with pytest.raises(CommandError, match="failed"):
        call_command(
            "import_file", str(path), tenant=firm.tenant.name, user=firm.admin.email, kind="organizations"
        )
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CommandError, match="NUL"):
        call_command(
            "import_file",
            str(tmp_path / "logo.png"),
            tenant=firm.tenant.name,
            user=firm.admin.email,
            kind="organizations",
        )
