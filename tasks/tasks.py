"""Tasks' background job (procrastinate, ADR 0023 and 0030): the members' daily digests."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from crm.tasks import UPKEEP_RETRY
from tasks import digest

log = logging.getLogger(__name__)


@app.periodic(cron="*/5 * * * *")
@app.task(name="tasks.send_digests", queue="upkeep", retry=UPKEEP_RETRY)
def send_digests(timestamp: int) -> int:
    """Every 5 minutes: the digests of members whose local day has reached TASK_DIGEST_HOUR and who have
    not had theirs (once a member and local day, however many workers run)."""
    sent = digest.send_due_digests()
    if sent:
        log.info("Sent %d task digests.", sent)
    return sent
