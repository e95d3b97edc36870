"""Helpers of the webhook suites: an endpoint registered through the API, the queue emptied, and running
the worker's steps in-process (dispatch, then delivery) until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from tests.api.support import API, ok
from tests.conftest import Firm, client_for
from webhooks import services
from webhooks.models import WebhookEndpoint

QUEUE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs")


def empty_queue() -> None:
    with connection.cursor() as cursor:
        for table in QUEUE_TABLES:
            cursor.execute(f"DELETE FROM {table}")


def register(firm: Firm, url: str, **body: Any) -> tuple[WebhookEndpoint, str]:
    """An endpoint for every event, starting after every change already in the firm's history.

    A new endpoint starts at the feed's horizon, the oldest transaction still running anywhere on the
    server (ADR 0026: it may get "a few changes committed just before"); on a server shared with other test
    workers' databases that can be minutes back, so the firm's own set-up would be delivered too. The tests
    count deliveries, so their endpoints start after the set-up (no other writer shares this database).
    """
    created = ok(
        client_for(firm.admin).post(f"{API}/webhooks/", {"url": url, "events": ["*"], **body}, format="json"),
        201,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact::text, id FROM history WHERE tenant_id = %s ORDER BY xact DESC, id DESC LIMIT 1",
            [firm.tenant.pk],
        )
        last = cursor.fetchone()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    if last is not None and (int(last[0]), last[1]) > (int(endpoint.position_xact), endpoint.position_id):
        endpoint.position_xact, endpoint.position_id = last[0], last[1]
        endpoint.save(update_fields=["position_xact", "position_id"])
    return endpoint, created["secret"]


def pump(endpoint: WebhookEndpoint, until: Callable[[], bool], timeout: float = 20) -> None:
    """The worker's two steps, in this process, until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("timed out pumping webhooks")
        services.dispatch_all()
        services.deliver_endpoint(endpoint.pk)
        time.sleep(0.02)
