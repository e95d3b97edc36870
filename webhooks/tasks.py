"""Webhooks' background jobs (procrastinate, ADR 0023 and 0027): a dispatcher every few seconds and one
delivery job per endpoint with events due. Both run as the worker's database user (the owner); payloads
are built under the endpoint's admin's RLS context (webhooks.services)."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from webhooks import services

log = logging.getLogger(__name__)


@app.periodic(cron="* * * * * */5")
@app.task(name="webhooks.dispatch", queue="webhooks")
def dispatch(timestamp: int) -> int:
    """Every 5 seconds: new changes become deliveries; endpoints with deliveries due get a delivery job."""
    return services.dispatch_all()


@app.task(name=services.DELIVER_TASK, queue="webhooks")
def deliver(endpoint_id: int) -> None:
    """Sends one endpoint's due deliveries (attempts, backoff and disabling are the deliveries' own)."""
    run = services.deliver_endpoint(endpoint_id)
    if run.sent or run.failed:
        log.info("Webhook endpoint %s: %d delivered, %d failed.", endpoint_id, run.sent, run.failed)
