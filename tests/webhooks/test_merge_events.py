"""A merge in webhooks (ADR 0029): an endpoint subscribed to `organizations.merge` gets both sides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import factories as f
from tests.api.support import API, ok
from tests.conftest import Firm, client_for
from tests.webhooks.receiver import Receiver, receiver
from tests.webhooks.support import empty_queue, pump, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    empty_queue()
    with receiver() as state:
        yield state
    empty_queue()


def test_a_webhook_subscribed_to_merges_gets_both_sides(firm: Firm, hook: Receiver) -> None:
    endpoint, hook.secret = register(firm, hook.url, events=["organizations.merge"])
    survivor = f.CustomerFactory(tenant=firm.tenant, name="Corner Deli")
    merged = f.CustomerFactory(tenant=firm.tenant, name="Corner – Deli")
    f.InteractionFactory(tenant=firm.tenant, organization=merged)
    admin = client_for(firm.admin)
    ok(admin.post(f"{API}/organizations/{survivor.pk}/merge/", {"merge": [merged.pk]}, format="json"))

    pump(endpoint, lambda: len(hook.events()) == 2)

    events = {e["data"]["record_id"]: e for e in hook.events()}
    assert {e["type"] for e in events.values()} == {"organizations.merge"}
    assert events[merged.pk]["data"]["tombstone"] is True
    assert events[survivor.pk]["data"]["changes"] == {"merged_from": [None, merged.pk]}
