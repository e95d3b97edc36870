"""The job queue (procrastinate's tables, ADR 0023): what the runtime role may do with it, and an index for
the health report.

A request defers a job in its own transaction (the job exists if and only if the request's change
committed), running as the runtime role. Deferring is all it may do: insert a job and its "deferred"
event (procrastinate_defer_jobs_v1 and the triggers it fires run as the caller) and read back the new
job's id. It cannot read the queue (other firms' jobs and their arguments), change or delete a job, or
touch the periodic schedule and the workers' table. The worker connects as the service's database user
(the owner), as `migrate` does, and switches to the runtime role inside each job that touches a firm's
data, as a request does.

A later procrastinate release that adds a table or changes how a job is deferred needs a migration of
ours granting what the new version needs; tests/jobs/test_grants.py lists the privileges and fails until
then.
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

GRANTS = [
    'GRANT INSERT ON procrastinate_jobs TO "{runtime_role}";',
    'GRANT SELECT (id) ON procrastinate_jobs TO "{runtime_role}";',
    'GRANT USAGE ON SEQUENCE procrastinate_jobs_id_seq TO "{runtime_role}";',
    'GRANT INSERT ON procrastinate_events TO "{runtime_role}";',
    'GRANT USAGE ON SEQUENCE procrastinate_events_id_seq TO "{runtime_role}";',
]
REVOKES = [
    'REVOKE USAGE ON SEQUENCE procrastinate_events_id_seq FROM "{runtime_role}";',
    'REVOKE INSERT ON procrastinate_events FROM "{runtime_role}";',
    'REVOKE USAGE ON SEQUENCE procrastinate_jobs_id_seq FROM "{runtime_role}";',
    'REVOKE SELECT (id) ON procrastinate_jobs FROM "{runtime_role}";',
    'REVOKE INSERT ON procrastinate_jobs FROM "{runtime_role}";',
]


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction (the queue takes writes meanwhile).
    atomic = False

    dependencies = [
        ("crm", "0024_rate_limits"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        RunPolicySQL(sql=GRANTS, reverse_sql=REVOKES),
        # dbhealth and /readyz count failed jobs; procrastinate indexes only the statuses it fetches by.
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS procrastinate_jobs_failed_crm ON procrastinate_jobs (id)"
            " WHERE status = 'failed';",
            "DROP INDEX CONCURRENTLY IF EXISTS procrastinate_jobs_failed_crm;",
        ),
        # Finished jobs keep their worker_id, and a worker's row is deleted when it stops (the key then sets
        # NULL on its jobs): procrastinate's index covers running jobs only, so without this every stop scans
        # the whole table.
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS procrastinate_jobs_worker_crm ON procrastinate_jobs (worker_id);",
            "DROP INDEX CONCURRENTLY IF EXISTS procrastinate_jobs_worker_crm;",
        ),
    ]
