"""Deliveries to a real local HTTP receiver that verifies each signature with the standardwebhooks
package: at least once, in order per record, with backoff, giving up, disabling (and telling the admins),
no redirects, the SSRF guard at delivery time, and payloads only to the firm's own endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from crm import rls
from tests import factories as f
from tests.api.support import API, ok
from tests.conftest import Firm, client_for
from tests.webhooks.receiver import Receiver, receiver
from tests.webhooks.support import empty_queue, pump, register
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_jobs_left() -> Iterator[None]:
    empty_queue()
    yield
    empty_queue()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


def contact_body(firm: Firm, **fields: Any) -> dict[str, Any]:
    return {"organization": firm.customer.pk, "first_name": "Rosa", "last_name": "Diaz", **fields}


def test_a_committed_change_is_delivered_signed_per_standard_webhooks(firm: Firm, hook: Receiver) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    created = ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm)), 201)

    pump(endpoint, lambda: len(hook.events()) == 1)

    [request] = hook.received
    assert request.verified, request.headers
    assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert request.headers["webhook-signature"].startswith("v1,")
    event = request.payload
    assert event["type"] == "contacts.create"
    assert event["data"]["resource"] == "contacts" and event["data"]["record_id"] == created["id"]
    assert event["data"]["changes"]["first_name"] == [None, "Rosa"]
    assert request.headers["webhook-id"] == f"msg_{event['data']['id']}"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("succeeded", 1, 200)


def test_a_rolled_back_change_sends_nothing(firm: Firm, hook: Receiver) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    with pytest.raises(RuntimeError), rls.acting_as(firm.admin.pk):
        f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name="Ghost")
        raise RuntimeError("the request failed after writing")
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm, first_name="Real")), 201)

    pump(endpoint, lambda: len(hook.events()) == 1)
    services.dispatch_all()
    services.deliver_endpoint(endpoint.pk)

    assert [e["data"]["changes"]["first_name"][1] for e in hook.events()] == ["Real"]


def test_one_records_events_arrive_in_order_even_when_an_attempt_fails(
    firm: Firm, hook: Receiver, settings: Any
) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    admin = client_for(firm.admin)
    record = ok(admin.post(f"{API}/contacts/", contact_body(firm)), 201)
    for title in ("Chef", "Head chef"):
        ok(admin.patch(f"{API}/contacts/{record['id']}/", {"title": title}))
    other = ok(admin.post(f"{API}/contacts/", contact_body(firm, first_name="Other")), 201)
    hook.statuses = [500]  # the record's first event fails once (it is sent first: the lowest event id)

    pump(endpoint, lambda: len(hook.events()) == 4)

    of_record = [
        (e["data"]["action"], e["data"]["changes"].get("title"))
        for e in hook.events()
        if e["data"]["record_id"] == record["id"]
    ]
    assert of_record == [("create", [None, ""]), ("update", ["", "Chef"]), ("update", ["Chef", "Head chef"])]
    # The other record was not held up by the first one's failures: it arrived before the retry.
    order = [(e["data"]["record_id"], e["data"]["action"]) for e in hook.events()]
    assert order[0] == (other["id"], "create")
    first = WebhookDelivery.objects.get(
        endpoint=endpoint, record_id=record["id"], event_type="contacts.create"
    )
    assert (first.attempts, first.state) == (2, "succeeded")
    assert [r.status for r in hook.received] == [500, 200, 200, 200, 200]


def test_failed_attempts_back_off_exponentially_then_the_event_is_given_up(
    firm: Firm, hook: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    endpoint, hook.secret = register(firm, hook.url)
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm)), 201)
    hook.statuses = [500] * 10
    services.dispatch_all()
    delays = []
    for _ in range(4):
        services.deliver_endpoint(endpoint.pk)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        if delivery.state == "pending" and delivery.last_attempt_at is not None:
            delays.append(round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()))
            # Time passes: make it due now.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.last_attempt_at)
    assert delays == [10, 20, 40]
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.last_error) == (
        "failed",
        4,
        500,
        "HTTP 500",
    )
    assert len(hook.received) == 4


def test_an_endpoint_failing_again_and_again_is_disabled_and_the_admins_are_emailed(
    firm: Firm, hook: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    endpoint, hook.secret = register(firm, hook.url)
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm)), 201)
    hook.statuses = [500] * 100

    pump(endpoint, lambda: not type(endpoint).objects.get(pk=endpoint.pk).is_active)

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 3 and endpoint.disabled_at is not None
    assert "3 attempts in a row failed" in endpoint.disabled_reason
    [message] = mail.outbox
    assert message.to == [firm.admin.email] and endpoint.url in message.subject
    assert len(hook.received) == 3
    services.deliver_endpoint(endpoint.pk)
    assert len(hook.received) == 3  # disabled: nothing more is sent
    # Enabled again by an admin: the failures forgotten, the pending event sent.
    hook.statuses = []
    shown = ok(
        client_for(firm.admin).patch(f"{API}/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")
    )
    assert (shown["is_active"], shown["consecutive_failures"], shown["disabled_reason"]) == (True, 0, "")
    pump(endpoint, lambda: len(hook.events()) == 1)


def test_a_redirect_is_not_followed(firm: Firm, hook: Receiver, settings: Any) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    endpoint, hook.secret = register(firm, hook.url)
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm)), 201)
    hook.statuses = [302]
    services.dispatch_all()
    services.deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.last_status) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error
    assert [r.headers.get("webhook-id") for r in hook.received] == [f"msg_{delivery.event_id}"]


def test_a_url_that_resolves_privately_by_delivery_time_is_refused(
    firm: Firm, hook: Receiver, settings: Any
) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm)), 201)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    services.dispatch_all()
    services.deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.state == "pending" and "loopback" in delivery.last_error
    assert hook.received == []


def test_payloads_go_only_to_the_firms_own_endpoints_whatever_its_members_may_see(
    firm: Firm, other_firm: Firm, hook: Receiver
) -> None:
    with receiver() as rival_hook:
        endpoint, hook.secret = register(firm, hook.url)
        rival_endpoint, rival_hook.secret = register(other_firm, rival_hook.url)
        only_a, _ = register(firm, hook.url + "a/", principals=[firm.principal_a.pk], events=["products.*"])
        # A product of principal B: its manager of principal A could not see it; the firm's admin can.
        product = ok(
            client_for(firm.other_manager).post(
                f"{API}/products/", {"principal": firm.principal_b.pk, "name": "Oat milk", "sku": "OAT-1"}
            ),
            201,
        )
        assert client_for(firm.manager).get(f"{API}/products/{product['id']}/").status_code == 404

        pump(endpoint, lambda: any(e["type"] == "products.create" for e in hook.events()))
        services.dispatch_all()
        services.deliver_endpoint(rival_endpoint.pk)
        services.deliver_endpoint(only_a.pk)

        assert [e["data"]["record_id"] for e in hook.events() if e["type"] == "products.create"] == [
            product["id"]
        ]
        assert rival_hook.received == []
        assert not WebhookDelivery.objects.filter(endpoint=rival_endpoint).exists()
        assert not WebhookDelivery.objects.filter(endpoint=only_a).exists()  # principal B's, not A's


def test_an_endpoint_whose_admin_is_no_longer_one_is_disabled(firm: Firm, hook: Receiver) -> None:
    endpoint, hook.secret = register(firm, hook.url)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE membership SET role = 'viewer' WHERE user_id = %s", [firm.admin.pk])
    ok(client_for(firm.manager).post(f"{API}/contacts/", contact_body(firm)), 201)
    services.dispatch_all()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "no longer an admin" in endpoint.disabled_reason
    assert hook.received == []


def test_an_endpoint_gets_changes_from_its_registration_on(firm: Firm, hook: Receiver) -> None:
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm, first_name="Before")), 201)
    endpoint, hook.secret = register(firm, hook.url)
    ok(client_for(firm.admin).post(f"{API}/contacts/", contact_body(firm, first_name="After")), 201)
    pump(endpoint, lambda: len(hook.events()) >= 1)
    assert [e["data"]["changes"]["first_name"][1] for e in hook.events()] == ["After"]
