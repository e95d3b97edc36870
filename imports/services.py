"""Starting an import (the file checked, kept, and its job deferred in the same transaction) and running
it (as the importer, under RLS, with its history entries carrying `import:<id>`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from crm import rls
from crm.rls import RequestContext
from imports.columns import map_header
from imports.engine import CHUNK_ROWS, Importer
from imports.models import Import, ImportKind, ImportMode, ImportState, RowAction
from imports.parsing import FileRefused, Limits, Table, read_table

log = logging.getLogger(__name__)

Progress = Callable[[Import], None]


def request_id_of(import_id: int) -> str:
    """What the history entries of an import's writes carry as their request id."""
    return f"import:{import_id}"


def import_prepare(
    *,
    content: bytes,
    file_name: str,
    kind: str,
    encoding: str = "",
    mapping: Mapping[str, str | None] | None = None,
) -> tuple[Table, dict[int, str]]:
    """The file read and its header mapped, or FileRefused: everything an import checks before it is
    accepted, so a bad file is a 4xx at upload and never a failed job."""
    table = read_table(content, file_name=file_name, encoding=encoding, limits=Limits.from_settings())
    return table, map_header(kind, table.header, mapping or {})


def import_create(
    *,
    context: RequestContext,
    content: bytes,
    file_name: str,
    kind: str,
    dry_run: bool = False,
    mode: str = ImportMode.ALL_OR_NOTHING,
    encoding: str = "",
    mapping: Mapping[str, str | None] | None = None,
    options: Mapping[str, Any] | None = None,
    defer: bool = True,
) -> Import:
    """Checks the file (FileRefused), stores it with the import, and defers the job in the caller's
    transaction: an import exists exactly when its job does."""
    from imports.tasks import run_import

    if kind == ImportKind.SALES and not (options or {}).get("distributor"):
        # The API, the admin page and the command all come through here: a sales file is a distributor's.
        raise FileRefused(
            "A sales import needs its distributor (the API's kind=sales upload).", field="distributor"
        )
    table, _ = import_prepare(
        content=content, file_name=file_name, kind=kind, encoding=encoding, mapping=mapping
    )
    with transaction.atomic():
        record = Import.objects.create(
            tenant_id=context.member_tenant_id,
            created_by_id=context.member_user_id,
            kind=kind,
            dry_run=dry_run,
            mode=mode,
            mapping=dict(mapping or {}),
            options=dict(options or {}),
            file_name=file_name[:255],
            file_type=table.file_type,
            file_size=len(content),
            file_sha256=hashlib.sha256(content).hexdigest(),
            encoding=table.encoding,
            content=content,
            rows_total=len(table.rows),
            summary=dict.fromkeys(RowAction.values, 0),
        )
        if defer:
            record.job_id = run_import.defer(import_id=record.pk, user_id=context.member_user_id)
            Import.objects.filter(pk=record.pk).update(job_id=record.job_id)
    return record


class ProgressReporter:
    """Writes an import's progress through a connection of its own, so it is seen while the import's
    transaction, which commits (or rolls back) everything at the end, is still open. As the importer,
    under RLS, like the job itself; a failure to report is logged, never the import's."""

    def __init__(self, *, import_id: int, user_id: int, every_seconds: float = 1.0) -> None:
        self.import_id = import_id
        self.user_id = user_id
        self.every = every_seconds
        self.last = 0.0
        self.side: Any = None

    def __call__(self, rows_processed: int, *, force: bool = False) -> None:
        now = timezone.now().timestamp()
        if not force and now - self.last < self.every:
            return
        self.last = now
        try:
            if self.side is None:
                self.side = connections.create_connection("default")
            with self.side.cursor() as cursor:
                cursor.execute("BEGIN")
                try:
                    cursor.execute(
                        "SELECT set_config('role', %s, true) FROM crm_request_context(%s::bigint, NULL, NULL)",
                        [rls.runtime_role(), self.user_id],
                    )
                    cursor.execute(
                        "UPDATE import_run SET state = %s, rows_processed = %s WHERE id = %s AND state <> %s",
                        [ImportState.RUNNING, rows_processed, self.import_id, ImportState.FAILED],
                    )
                finally:
                    cursor.execute("COMMIT")
        except Exception:
            log.warning("Could not report the progress of import %s.", self.import_id, exc_info=True)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def import_run(*, import_id: int, user_id: int, progress: Callable[[int], None] | None = None) -> Import:
    """Runs import `import_id` as member `user_id`: every row through the engine in one transaction,
    committed only for a real run that may write (no errors, or per-row mode), then the outcome recorded.
    A file-level failure is the import's `error`, state failed."""
    request_id = request_id_of(import_id)
    with rls.acting_as(user_id, request_id=request_id):
        started = Import.objects.filter(pk=import_id, state=ImportState.QUEUED).update(
            state=ImportState.RUNNING, started_at=timezone.now()
        )
    outcome: dict[str, Any] = {}
    try:
        with rls.acting_as(user_id, request_id=request_id) as context:
            record = Import.objects.get(pk=import_id)
            if not started and record.state != ImportState.RUNNING:
                return record  # already done (a job run twice)
            outcome = _process(record, context, progress)
            if outcome["rolled_back"]:
                transaction.set_rollback(True)
    except FileRefused as refused:  # the file changed meaning since upload (a lower limit, say)
        outcome = {"error": refused.message, "state": ImportState.FAILED, "report": [], "summary": {}}
    except Exception:
        # Not the data's fault: nothing was written; the import says so rather than staying "running".
        log.exception("Import %s stopped on an unexpected error.", import_id)
        outcome = {
            "error": "The import stopped on an unexpected error; nothing was written.",
            "state": ImportState.FAILED,
            "report": [],
            "summary": {},
        }
    with rls.acting_as(user_id, request_id=request_id):
        errors = _first_errors(outcome["report"])
        Import.objects.filter(pk=import_id).update(
            first_errors=errors,
            state=outcome["state"],
            rows_processed=outcome.get("rows_processed", 0),
            summary=outcome["summary"],
            report=outcome["report"],
            error=outcome.get("error", ""),
            finished_at=timezone.now(),
        )
        return Import.objects.defer("content").get(pk=import_id)


def _process(
    record: Import, context: RequestContext, progress: Callable[[int], None] | None
) -> dict[str, Any]:
    table, mapping = import_prepare(
        content=bytes(record.content),
        file_name=record.file_name,
        kind=record.kind,
        encoding=record.encoding if record.file_type == "csv" else "",
        mapping=record.mapping,
    )
    importer: Any
    if record.kind == ImportKind.SALES:  # a distributor's sales file: the sales app's own rows (ADR 0034)
        from sales.importing import SalesImporter

        importer = SalesImporter(
            context=context, header=table.header, mapping=mapping, options=record.options, import_id=record.pk
        )
    else:
        importer = Importer(
            kind=record.kind, context=context, header=table.header, mapping=mapping, write=True
        )
    report: list[list[Any]] = []
    for start in range(0, len(table.rows), CHUNK_ROWS):
        chunk = table.rows[start : start + CHUNK_ROWS]
        rows = importer.process((start + 2 + offset, cells) for offset, cells in enumerate(chunk))
        report.extend(row.report() for row in rows)
        if progress is not None:
            progress(len(report))
    errors = importer.summary[RowAction.ERROR]
    all_or_nothing = record.mode == ImportMode.ALL_OR_NOTHING
    failed = all_or_nothing and errors > 0
    if record.dry_run or failed:  # what was created was rolled back: no ids to show
        for entry in report:
            if entry[1] in (RowAction.CREATE, RowAction.UNMATCHED):
                entry[2] = None
    ignored = [name for index, name in enumerate(table.header) if index not in mapping and name]
    summary = {**importer.summary, "ignored_columns": ignored, "written": not (record.dry_run or failed)}
    return {
        "state": ImportState.FAILED if failed else ImportState.SUCCEEDED,
        "error": f"{errors} row(s) have errors: nothing was written."
        if failed and not record.dry_run
        else "",
        "rows_processed": len(report),
        "summary": summary,
        "report": report,
        "rolled_back": record.dry_run or failed,
    }


# How many errors an import keeps beside its report, for lists and the detail.
FIRST_ERRORS = 100


def _first_errors(report: list[list[Any]]) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for row, _action, _id, errors in report:
        for column, message in errors:
            if len(shown) == FIRST_ERRORS:
                return shown
            shown.append({"row": row, "column": column, "message": message})
    return shown


def import_errors(record: Import) -> list[tuple[int, str, str]]:
    """Every error of the report: (row, column, message), in file order."""
    return [
        (row, column, message) for row, _action, _id, errors in record.report for column, message in errors
    ]
