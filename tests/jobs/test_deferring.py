"""Deferring a job: in the transaction of the change that asks for it, as the runtime role, which may
insert a job and nothing more (ADR 0023, migration crm 0025)."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from crm import rls
from tests.jobs.support import defer_purge
from tests.rls.support import scalar

pytestmark = pytest.mark.django_db

# What the runtime role holds on each of procrastinate's tables and sequences, exactly. A procrastinate
# upgrade that adds a table, or defers through one more, fails here until a migration grants what it needs.
EXPECTED_PRIVILEGES = {
    "procrastinate_jobs": {"INSERT", "SELECT (id)"},
    "procrastinate_events": {"INSERT"},
    "procrastinate_periodic_defers": set(),
    "procrastinate_workers": set(),
    "procrastinate_jobs_id_seq": {"USAGE"},
    "procrastinate_events_id_seq": {"USAGE"},
    "procrastinate_periodic_defers_id_seq": set(),
    "procrastinate_workers_id_seq": set(),
}


def jobs() -> list[tuple[str, str, dict]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status, args FROM procrastinate_jobs ORDER BY id")
        return [
            (name, status, args if isinstance(args, dict) else json.loads(args))
            for name, status, args in cursor
        ]


def privileges(relation: str, kind: str) -> set[str]:
    role = rls.runtime_role()
    held: set[str] = set()
    if kind == "S":
        for privilege in ("USAGE", "SELECT", "UPDATE"):
            if scalar("SELECT has_sequence_privilege(%s, %s, %s)", [role, relation, privilege]):
                held.add(privilege)
        return held
    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
        if scalar("SELECT has_table_privilege(%s, %s, %s)", [role, relation, privilege]):
            held.add(privilege)
    if "SELECT" not in held:
        columns = scalar(
            """SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
                  AND has_column_privilege(%s, attrelid, attnum, 'SELECT')""",
            [relation, role],
        )
        if columns:
            held.add(f"SELECT ({columns})")
    return held


def test_the_runtime_role_holds_exactly_what_deferring_needs_on_the_queue() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT relname, relkind::text FROM pg_class
                WHERE relnamespace = 'public'::regnamespace AND relname LIKE 'procrastinate%%'
                  AND relkind IN ('r', 'p', 'S', 'v', 'm')"""
        )
        found = {name: privileges(name, kind) for name, kind in cursor.fetchall()}
    assert found == EXPECTED_PRIVILEGES


def test_a_job_deferred_in_a_committed_transaction_exists_and_a_rolled_back_one_does_not() -> None:
    with transaction.atomic():
        rls.begin(None)
        assert scalar("SELECT current_user") == rls.runtime_role()
        defer_purge(timestamp=1)
        rls.end()
    with pytest.raises(RuntimeError), transaction.atomic():
        rls.begin(None)
        defer_purge(timestamp=2)
        raise RuntimeError("the change failed after deferring")
    assert jobs() == [("crm.purge_idempotency_keys", "todo", {"timestamp": 1})]
    # Its "deferred" event was written with it, by the trigger, as the runtime role.
    assert scalar("SELECT count(*) FROM procrastinate_events WHERE type = 'deferred'") == 1


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT args FROM procrastinate_jobs",
        "SELECT count(*) FROM procrastinate_events",
        "UPDATE procrastinate_jobs SET status = 'succeeded'",
        "DELETE FROM procrastinate_jobs",
        "SELECT * FROM procrastinate_periodic_defers",
        "INSERT INTO procrastinate_workers DEFAULT VALUES",
        "SELECT * FROM procrastinate_fetch_job_v2(ARRAY['upkeep'], NULL)",
    ],
)
def test_the_runtime_role_cannot_read_or_change_the_queue(statement: str) -> None:
    with transaction.atomic():
        defer_purge(timestamp=1)  # as the owner: a job to read or change
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        rls.begin(None)
        with connection.cursor() as cursor:
            cursor.execute(statement)


def test_readyz_shows_the_queue_without_deciding_readiness() -> None:
    defer_purge(timestamp=1)
    defer_purge(schedule_in={"hours": 1}, timestamp=2)
    response = Client().get("/readyz")
    assert response.status_code == 200
    queue = response.json()["queue"]
    assert queue["waiting"] == 2 and queue["ready"] == 1 and queue["running"] == 0
    assert queue["failed"] == 0 and queue["workers"] == 0
    assert 0 <= queue["oldest_ready_seconds"] < 60


def test_dbhealth_fails_when_jobs_are_ready_and_no_worker_beats() -> None:
    from crm.ops.dbhealth import Thresholds, run_checks

    def job_queue():
        (check,) = run_checks(connection, only=["job_queue"], thresholds=Thresholds()).checks
        return check

    assert job_queue().status == "ok"
    defer_purge(schedule_in={"hours": 1}, timestamp=1)
    assert job_queue().status == "ok"  # scheduled for later: nothing is late
    defer_purge(timestamp=2)
    check = job_queue()
    assert check.status == "fail" and "procrastinate worker" in check.remedy
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers DEFAULT VALUES")  # a worker beating now
        cursor.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE args->>'timestamp' = '2'")
    check = job_queue()
    assert check.status == "warn" and check.figures["failed"] == 1 and "list_jobs" in check.remedy
