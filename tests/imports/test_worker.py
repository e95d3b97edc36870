"""The import job run by a real worker (`manage.py procrastinate worker`), as a deployment runs it: deferred
by the upload's own transaction, run as the importer under RLS, its history carrying the import's id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import HistoryEntry
from imports.models import Import
from organizations.models import Organization
from tests.conftest import make_firm
from tests.imports.support import csv_bytes
from tests.jobs.test_worker import empty_queue, rows, wait_for, worker  # noqa: F401 - empty_queue: a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_runs_the_uploaded_import_as_the_importer(api: Any) -> None:
    firm = make_firm("Acme")
    content = csv_bytes(
        [["Account Name", "Type", "Owner"]]
        + [[f"Shop {i}", "customer", firm.manager.email] for i in range(1500)]
        + [[firm.principal_b.name, "principal", ""]]  # a manager may not touch a principal
    )
    response = api(firm.manager).post(
        "/api/v1/imports/",
        {"kind": "organizations", "mode": "per_row", "file": SimpleUploadedFile("shops.csv", content)},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    import_id = response.json()["id"]
    job = Import.objects.get(pk=import_id).job_id
    # Ids only: the worker reads the file and the options from the import, as the importer.
    assert rows(
        "SELECT task_name, args::text::jsonb = %s::jsonb FROM procrastinate_jobs WHERE id = %s",
        [json.dumps({"import_id": import_id, "user_id": firm.manager.pk}), job],
    ) == [("imports.run_import", True)]
    with worker("--concurrency", "1"):
        wait_for(
            lambda: Import.objects.get(pk=import_id).state in ("succeeded", "failed"), "the import to finish"
        )
    record = Import.objects.get(pk=import_id)
    assert record.state == "succeeded", record.error
    assert (record.rows_total, record.rows_processed) == (1501, 1501)
    assert {k: record.summary[k] for k in ("create", "update", "unchanged", "error")} == {
        "create": 1500,
        "update": 0,
        "unchanged": 0,
        "error": 1,
    }
    assert record.report[-1][1] == "error"
    assert record.started_at is not None and record.finished_at is not None
    shops = Organization.objects.filter(tenant=firm.tenant, name__startswith="Shop ")
    assert shops.count() == 1500
    assert set(shops.values_list("created_by_id", "account_manager_id").distinct()) == {
        (firm.manager.pk, firm.manager.pk)
    }
    history = HistoryEntry.objects.filter(table_name="organization", row_id__in=shops.values("pk"))
    assert set(history.values_list("request_id", "actor_id").distinct()) == {
        (f"import:{import_id}", firm.manager.pk)
    }
    assert rows("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job]) == [("succeeded",)]


def test_progress_is_seen_while_the_imports_own_transaction_is_still_open() -> None:
    from crm import rls
    from imports import services
    from imports.engine import CHUNK_ROWS

    firm = make_firm("Acme")
    content = csv_bytes(
        [["Company", "Type"]] + [[f"Shop {i}", "prospect"] for i in range(CHUNK_ROWS * 2 + 1)]
    )
    with rls.acting_as(firm.admin.pk) as context:
        record = services.import_create(
            context=context, content=content, file_name="shops.csv", kind="organizations", defer=False
        )
    reporter = services.ProgressReporter(import_id=record.pk, user_id=firm.admin.pk)
    seen: list[tuple[str, int]] = []

    def progress(processed: int) -> None:
        reporter(processed, force=True)
        # Read on the import's own connection, inside its open transaction: committed by the other one.
        seen.append(Import.objects.values_list("state", "rows_processed").get(pk=record.pk))

    try:
        done = services.import_run(import_id=record.pk, user_id=firm.admin.pk, progress=progress)
    finally:
        reporter.close()
    assert seen == [("running", CHUNK_ROWS), ("running", CHUNK_ROWS * 2), ("running", CHUNK_ROWS * 2 + 1)]
    assert (done.state, done.rows_processed, done.summary["create"]) == ("succeeded", 2001, 2001)
