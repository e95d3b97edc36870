"""The job queue (procrastinate, ADR 0023): jobs waiting too long, jobs that failed, workers gone."""

from __future__ import annotations

from crm.jobs import QUEUE_STATE_SQL, WORKER_ALIVE_SECONDS
from crm.ops.dbhealth.base import Check, Db, Status, graded, worst


def check_job_queue(db: Db) -> Check:
    t = db.thresholds
    row = db.one(QUEUE_STATE_SQL, [WORKER_ALIVE_SECONDS])
    waited = row["oldest_ready_seconds"]
    waiting_status = graded(waited or 0.0, t.job_wait_warn_s, t.job_wait_fail_s)
    # Jobs ready to run and no worker beating: nothing will run them.
    orphaned: Status = "fail" if row["ready"] and not row["workers"] else "ok"
    failed: Status = "warn" if row["failed"] else "ok"
    status = worst([waiting_status, orphaned, failed])
    summary = (
        f"{row['ready']} jobs ready to run (oldest waiting {waited:.0f} s)"
        if waited is not None
        else "no job waiting to run"
    )
    summary += (
        f"; {row['waiting'] - row['ready']} scheduled for later, {row['running']} running, {row['failed']} failed"
        f" (kept JOB_RETENTION_HOURS); {row['workers']} workers beat in the last {WORKER_ALIVE_SECONDS} s"
    )
    remedies = []
    if orphaned != "ok":
        remedies.append("Start a worker: python manage.py procrastinate worker (README, 'Background jobs').")
    elif waiting_status != "ok":
        remedies.append("Jobs wait: start more workers, or raise JOB_WORKER_CONCURRENCY.")
    if failed != "ok":
        remedies.append(
            "See the failed jobs with `python manage.py procrastinate shell` (list_jobs --status failed) and"
            " the worker's log; retry them there (retry <id>) once the cause is fixed."
        )
    return Check(
        "job_queue",
        status,
        summary,
        {**row, "wait_warn_s": t.job_wait_warn_s, "wait_fail_s": t.job_wait_fail_s},
        " ".join(remedies),
    )
