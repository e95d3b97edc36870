"""Real workers (`manage.py procrastinate worker`) deliver webhooks: the periodic dispatcher and the
delivery jobs, end to end. A worker killed (SIGKILL) in the middle of a delivery loses nothing: the event
is delivered again by the next worker, with the same webhook-id, so a receiver that dedups gets it once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.support import API, ok
from tests.conftest import Firm, client_for
from tests.jobs.test_worker import wait_for, worker
from tests.webhooks.receiver import Receiver, receiver
from tests.webhooks.support import empty_queue, register
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def queue_and_environment(monkeypatch: Any) -> Iterator[None]:
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_URLS", "1")  # the workers deliver to 127.0.0.1
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "1")
    empty_queue()
    yield
    empty_queue()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


def test_a_worker_delivers_changes_as_they_commit(firm: Firm, hook: Receiver) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    with worker("--concurrency", "2"):
        for name in ("Rosa", "Ines"):
            ok(
                client_for(firm.admin).post(
                    f"{API}/contacts/", {"organization": firm.customer.pk, "first_name": name}
                ),
                201,
            )
        events = hook.wait_for(2, timeout=60)
    assert [e["data"]["changes"]["first_name"][1] for e in events] == ["Rosa", "Ines"]
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {
        "succeeded"
    }


def test_a_worker_killed_mid_delivery_loses_nothing_the_next_one_delivers_it_again(
    firm: Firm, hook: Receiver
) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    hook.delay = 60  # the receiver holds the first request: the worker is killed while it waits
    ok(
        client_for(firm.admin).post(
            f"{API}/contacts/", {"organization": firm.customer.pk, "first_name": "Rosa"}
        ),
        201,
    )

    with worker("--concurrency", "2") as first:
        wait_for(lambda: len(hook.received) == 1, "the first attempt to reach the receiver", timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    hook.delay = 0
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.attempts) == ("pending", 0)  # its outcome was never written

    with worker("--concurrency", "2"):
        wait_for(lambda: len(hook.received) == 2, "the event to be delivered again", timeout=60)
        wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).state == "succeeded",
            "the delivery to be recorded",
            timeout=30,
        )

    first_try, second_try = hook.received
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"] == f"msg_{delivery.event_id}"
    assert first_try.body == second_try.body and second_try.verified
    assert len(hook.events()) == 1  # deduplicated by webhook-id: delivered at least once, seen once
