"""Real workers (`manage.py procrastinate worker`, as `make run` and a deployment start them) on the test
database: jobs shared by two workers run once each, a failing job is retried with backoff, and periodic
jobs are deferred once however many workers run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction

from tests.jobs.support import defer_purge
from tests.live import ROOT, database_url

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


def rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    """The queue's tables are not Django's to flush: each test starts and leaves them empty."""

    def empty() -> None:
        with connection.cursor() as cursor:
            for table in QUEUE_TABLES:
                cursor.execute(f"DELETE FROM {table}")

    empty()
    yield
    empty()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextmanager
def worker(*arguments: str, url: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py procrastinate worker` in a process of its own; stopped with SIGTERM (as a supervisor
    stops it), its log printed afterwards (shown when the test fails)."""
    env = {
        **os.environ,
        "DATABASE_URL": url or database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
    }
    env.pop("PYTEST_VERSION", None)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker", *arguments],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                log.seek(0)
                print(log.read().decode(errors="replace")[-4000:])


def workers_beating() -> int:
    return rows("SELECT count(*) FROM procrastinate_workers")[0][0]


def test_two_workers_share_the_jobs_and_run_each_once() -> None:
    with worker("--concurrency", "1") as first, worker("--concurrency", "1") as second:
        wait_for(lambda: workers_beating() == 2, "both workers to register")
        with transaction.atomic():
            ids = [defer_purge(timestamp=timestamp) for timestamp in range(40)]
        wait_for(
            lambda: (
                rows(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded' AND id = ANY(%s)",
                    [ids],
                )[0][0]
                == 40
            ),
            "the 40 jobs to succeed",
        )
        assert first.poll() is None and second.poll() is None
        # Both took a share: the queue scales out by starting workers. (Read before they stop: a stopping
        # worker's row is deleted, and its jobs' worker_id with it.)
        by_worker = rows(
            "SELECT worker_id, count(*) FROM procrastinate_jobs WHERE id = ANY(%s) GROUP BY 1", [ids]
        )
        assert len(by_worker) == 2 and None not in dict(by_worker), by_worker
    started = rows(
        """SELECT j.id, count(e.id) FROM procrastinate_jobs j
             LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'started'
            WHERE j.id = ANY(%s) GROUP BY j.id""",
        [ids],
    )
    assert len(started) == 40 and {count for _, count in started} == {1}
    # Stopped by SIGTERM, each worker unregistered itself.
    assert workers_beating() == 0


@pytest.fixture
def owner_without_bypassrls() -> Iterator[str]:
    """A database URL for a login role that owns nothing and may not bypass RLS, with procrastinate's
    tables granted: what a deployment whose owner lacks BYPASSRLS gives the worker."""
    role = f"crm_worker_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')
        cursor.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        cursor.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    scheme, rest = database_url().split("://", 1)
    try:
        yield f"{scheme}://{role}@{rest.split('@', 1)[1]}"  # no password: the test server trusts local users
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def test_a_failing_job_is_retried_later_with_exponential_backoff(owner_without_bypassrls: str) -> None:
    """The hourly purge needs BYPASSRLS: without it the job fails, and is scheduled again 10 s later
    (then 100 s, then 1000 s, then it stays failed for dbhealth to show)."""
    with transaction.atomic():
        job = defer_purge(timestamp=1)
    with worker(url=owner_without_bypassrls):
        wait_for(
            lambda: rows("SELECT attempts FROM procrastinate_jobs WHERE id = %s", [job])[0][0] == 1,
            "the first attempt to fail",
        )
        ((status, wait),) = rows(
            "SELECT status::text, extract(epoch FROM scheduled_at - now()) FROM procrastinate_jobs WHERE id = %s",
            [job],
        )
    assert status == "todo"
    assert 5 < wait <= 10
    events = [
        kind
        for (kind,) in rows(
            "SELECT type::text FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job]
        )
    ]
    assert events[:2] == ["deferred", "started"] and "deferred_for_retry" in events


def test_a_periodic_job_is_deferred_once_however_many_workers_try() -> None:
    """Each periodic run is one row of procrastinate_periodic_defers: workers that all find the same run due
    defer it once between them."""
    from procrastinate.contrib.django import app

    registered = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert registered == {
        "crm.purge_idempotency_keys": "17 * * * *",
        "crm.purge_rate_limits": "*/5 * * * *",
        "crm.remove_old_jobs": "43 3 * * *",
        "crm.retry_stalled_jobs": "* * * * *",
        "tasks.send_digests": "*/5 * * * *",
        "webhooks.dispatch": "* * * * * */5",  # every 5 seconds (croniter's sixth field)
    }
    task = app.tasks["crm.purge_idempotency_keys"]
    defer = async_to_sync(app.job_manager.defer_periodic_job)
    deferred = [  # three workers finding the same run due
        defer(
            job=task.configure(task_kwargs={"timestamp": 1_700_000_220}).job,
            periodic_id="",
            defer_timestamp=1_700_000_220,
        )
        for _ in range(3)
    ]
    assert deferred[0] is not None and deferred[1:] == [None, None]
    assert rows("SELECT count(*) FROM procrastinate_jobs")[0][0] == 1


def test_jobs_left_running_by_a_worker_that_stopped_beating_run_again() -> None:
    """A worker killed mid-job (SIGKILL, a lost machine) leaves its job `doing`; once its heartbeat is a
    minute old, crm.retry_stalled_jobs puts the job back in the queue. A live worker's job is left alone."""
    from procrastinate.contrib.django import app

    from crm.tasks import retry_stalled

    with transaction.atomic():
        gone, alive = defer_purge(timestamp=1), defer_purge(timestamp=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '5 minutes'), (now())"
            " RETURNING id"
        )
        gone_worker, alive_worker = (row[0] for row in cursor.fetchall())
        for job, worker_id in ((gone, gone_worker), (alive, alive_worker)):
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
                [worker_id, job],
            )
    assert async_to_sync(retry_stalled)(app) == 1
    statuses = dict(
        rows("SELECT id, status::text FROM procrastinate_jobs WHERE id = ANY(%s)", [[gone, alive]])
    )
    assert statuses == {gone: "todo", alive: "doing"}
