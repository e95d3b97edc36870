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
    created = ok(
        client_for(firm.admin).post(f"{API}/webhooks/", {"url": url, "events": ["*"], **body}, format="json"),
        201,
    )
    return WebhookEndpoint.objects.get(pk=created["id"]), created["secret"]


def pump(endpoint: WebhookEndpoint, until: Callable[[], bool], timeout: float = 20) -> None:
    """The worker's two steps, in this process, until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("timed out pumping webhooks")
        services.dispatch_all()
        services.deliver_endpoint(endpoint.pk)
        time.sleep(0.02)
