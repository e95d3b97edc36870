"""The import job (procrastinate, ADR 0023): runs one import as its importer, under RLS."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from imports.services import ProgressReporter, import_run

log = logging.getLogger(__name__)


@app.task(name="imports.run_import", queue="imports")
def run_import(import_id: int, user_id: int) -> str:
    """Arguments are ids: the file and the options are read from the import, as `user_id` sees it. Not
    retried: an import that failed says why in its record, and running it again gives the same answer."""
    progress = ProgressReporter(import_id=import_id, user_id=user_id)
    try:
        record = import_run(import_id=import_id, user_id=user_id, progress=progress)
    finally:
        progress.close()
    log.info("Import %s: %s %s", import_id, record.state, record.summary)
    return str(record.state)
