"""The core's background jobs (procrastinate, ADR 0023): the periodic upkeep the service needs.

Every app may have a `tasks` module; procrastinate's Django app imports them all, in the web processes (to
defer) and in the worker (to run). A job that touches a firm's data runs under RLS as a request does
(`crm.rls.acting_as`); upkeep across firms runs as the service's database user.
"""

from __future__ import annotations

import logging

from django.conf import settings
from procrastinate import App, JobContext, RetryStrategy, builtin_tasks
from procrastinate.contrib.django import app

from crm import idempotency, rate_limits
from crm.jobs import WORKER_ALIVE_SECONDS

log = logging.getLogger(__name__)

# Upkeep that failed is tried again a few times, 10 s, 100 s, 1000 s apart, then stays failed for dbhealth
# and /readyz to show.
UPKEEP_RETRY = RetryStrategy(max_attempts=4, exponential_wait=10)


@app.periodic(cron="17 * * * *")
@app.task(name="crm.purge_idempotency_keys", queue="upkeep", retry=UPKEEP_RETRY)
def purge_idempotency_keys(timestamp: int) -> int:
    """Hourly: every firm's idempotency keys past their window (the writes sweep only their own caller's)."""
    deleted = idempotency.purge_expired()
    log.info("Deleted %d expired idempotency keys.", deleted)
    return deleted


@app.periodic(cron="*/5 * * * *")
@app.task(name="crm.purge_rate_limits", queue="upkeep", retry=UPKEEP_RETRY)
def purge_rate_limits(timestamp: int) -> int:
    """Every 5 minutes: the rate limiter's PostgreSQL buckets that are full again (none with REDIS_URL)."""
    if settings.REDIS_URL:
        return 0
    deleted = rate_limits.purge_full_buckets()
    log.info("Deleted %d full rate limit buckets.", deleted)
    return deleted


async def retry_stalled(queue_app: App) -> int:
    """Puts the jobs that a gone worker left running back in the queue, to run again; returns how many."""
    stalled = list(await queue_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=WORKER_ALIVE_SECONDS))
    for job in stalled:
        await queue_app.job_manager.retry_job(job)
    return len(stalled)


@app.periodic(cron="* * * * *")
@app.task(name="crm.retry_stalled_jobs", queue="upkeep", retry=UPKEEP_RETRY, pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    """Every minute: the jobs of workers that stopped beating run again (jobs are run at least once)."""
    retried = await retry_stalled(context.app)
    if retried:
        log.warning("Retried %d jobs left running by a worker that stopped.", retried)
    return retried


@app.periodic(cron="43 3 * * *")
@app.task(name="crm.remove_old_jobs", queue="upkeep", retry=UPKEEP_RETRY, pass_context=True)
async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """Daily: finished jobs (and their events) older than JOB_RETENTION_HOURS, failed ones included."""
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=settings.JOB_RETENTION_HOURS,
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )
