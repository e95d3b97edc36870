"""The job queue's state, for /readyz and dbhealth (ADR 0023). The queue is procrastinate's: tasks live in
each app's `tasks` module, `manage.py procrastinate worker` runs them, `crm/tasks.py` holds the core's."""

from __future__ import annotations

from typing import Any

# Workers beat every 10 s (procrastinate_workers.last_heartbeat); one silent this long is gone: not counted
# as alive here, and its jobs run again (crm.retry_stalled_jobs).
WORKER_ALIVE_SECONDS = 60

# One round trip, every figure from an index: waiting jobs by the `todo` partial index, failed ones by
# crm's (migration crm 0025), workers by their heartbeat index. A job's "waiting since" is when it could
# first run: its deferral, or its scheduled time if later (a retry's, or a job deferred for later).
QUEUE_STATE_SQL = """
WITH ready AS (
    SELECT j.id, j.scheduled_at FROM procrastinate_jobs j
     WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
     ORDER BY j.id LIMIT 1
)
SELECT
    (SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo')::int AS waiting,
    (SELECT count(*) FROM procrastinate_jobs
      WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()))::int AS ready,
    (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing')::int AS running,
    (SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed')::int AS failed,
    (SELECT round(extract(epoch FROM now() - greatest(
                (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = r.id AND e.type = 'deferred'),
                r.scheduled_at))::numeric, 1)::float8
       FROM ready r) AS oldest_ready_seconds,
    (SELECT count(*) FROM procrastinate_workers
      WHERE last_heartbeat > now() - make_interval(secs => %s))::int AS workers
"""


def queue_state(cursor: Any) -> dict[str, Any]:
    """Counts of waiting, ready, running and failed jobs, how long the oldest ready job has waited (seconds,
    None when none is), and how many workers beat in the last minute. Reads procrastinate's tables: run it
    as the service's database user, not the runtime role (which may only defer)."""
    cursor.execute(QUEUE_STATE_SQL, [WORKER_ALIVE_SECONDS])
    row = cursor.fetchone()
    names = [column[0] for column in cursor.description]
    return dict(zip(names, row, strict=True))
