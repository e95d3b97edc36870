"""Writes of webhooks: endpoints (by the firm's admins, under RLS) and the worker's dispatch and delivery
(as the owner, across firms; payloads built under the endpoint's admin's RLS context). ADR 0027."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued
from standardwebhooks import Webhook

from changes.positions import Position
from changes.selectors import Change, feed_page, horizon_position
from changes.serializers import ChangeSerializer
from crm import rls
from crm.models import Membership
from crm.rls import RequestContext
from webhooks import events, secrets, sender, urlguard
from webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
# Entries one dispatch turns into deliveries per endpoint; the rest wait for the next tick.
DISPATCH_BATCH = 500
DISPATCH_MAX_PER_TICK = 5000
# Deliveries one job sends before it lets another endpoint's job run (it is deferred again if more wait).
DELIVER_MAX_PER_JOB = 200
RETRY_CAP_SECONDS = 6 * 3600


# --- endpoints (runtime role, the request's admin) -----------------------------------------------------


def endpoint_create(
    *, context: RequestContext, url: str, description: str, events: list[str], principals: list[int]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint, receiving every change committed from now on; and its secret (shown only now). The
    URL was checked by the serializer (urlguard.resolve); it is checked again before every delivery."""
    secret = secrets.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        tenant_id=context.member_tenant_id,
        url=url,
        description=description,
        events=events,
        principals=principals,
        secret_encrypted=secrets.encrypt(secret),
        acting_admin_id=context.member_user_id,
        **_position_fields(horizon_position()),
    )
    return endpoint, secret


def endpoint_update(*, context: RequestContext, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Changes an endpoint; the admin who changes it is the one its payloads are built as from now on.
    Enabling a disabled one starts it afresh: its failure count at zero, the changes made meanwhile included."""
    if changes.get("is_active") and not endpoint.is_active:
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.acting_admin_id = context.member_user_id
    endpoint.updated_at = timezone.now()
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, context: RequestContext, endpoint: WebhookEndpoint) -> str:
    secret = secrets.new_secret()
    endpoint.secret_encrypted = secrets.encrypt(secret)
    endpoint.acting_admin_id = context.member_user_id
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=["secret_encrypted", "acting_admin", "updated_at"])
    return secret


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends a delivery again (whatever its state) with a fresh set of attempts, soon."""
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
    defer_delivery(delivery.endpoint_id)
    return delivery


def defer_delivery(endpoint_id: int) -> None:
    """A delivery job for the endpoint, unless one is already waiting (in the current transaction)."""
    try:
        with transaction.atomic():  # a savepoint: the refused insert must not abort the caller's transaction
            app.configure_task(DELIVER_TASK, queueing_lock=f"webhooks.deliver:{endpoint_id}").defer(
                endpoint_id=endpoint_id
            )
    except AlreadyEnqueued:
        pass


def _position_fields(position: Position) -> dict[str, Any]:
    return {"position_xact": str(position.xact), "position_id": position.id}


# --- dispatch (worker, as the owner) -------------------------------------------------------------------


def dispatch_all() -> int:
    """Turns every active endpoint's new changes into deliveries and defers the delivery jobs due.
    Returns how many deliveries it created."""
    created = 0
    for endpoint_id in WebhookEndpoint.objects.filter(is_active=True).values_list("id", flat=True):
        created += dispatch_endpoint(endpoint_id)
    due = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now(), endpoint__is_active=True
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    with transaction.atomic():
        for endpoint_id in list(due):
            defer_delivery(endpoint_id)
    return created


def dispatch_endpoint(endpoint_id: int) -> int:
    """The endpoint's changes after its position (ADR 0026's horizon), read as its admin sees them, become
    deliveries; the position moves past them in the same transaction, so each change is dispatched once."""
    created = 0
    while created < DISPATCH_MAX_PER_TICK:
        with transaction.atomic():
            endpoint = (
                WebhookEndpoint.objects.select_for_update(skip_locked=True)
                .filter(pk=endpoint_id, is_active=True)
                .first()
            )
            if endpoint is None:
                return created
            position = Position(int(endpoint.position_xact), endpoint.position_id)
            with rls.acting_as(endpoint.acting_admin_id) as context:
                if not (context.is_admin and context.tenant_id == endpoint.tenant_id):
                    page = None
                else:
                    page = feed_page(
                        tenant_id=endpoint.tenant_id,
                        after=position,
                        resources=events.resources_wanted(endpoint.events),
                        principals=frozenset(endpoint.principals) or None,
                        limit=DISPATCH_BATCH,
                    )
            if page is None:
                _disable(
                    endpoint,
                    "The admin it acts for is no longer an admin of the firm; an admin must enable it again.",
                )
                return created
            wanted = [c for c in page.changes if events.wants(endpoint.events, c.resource, c.action)]
            WebhookDelivery.objects.bulk_create(
                [_delivery(endpoint, change) for change in wanted], ignore_conflicts=True
            )
            if page.next != position:  # an idle endpoint (every 5 s) is not rewritten
                for name, value in _position_fields(page.next).items():
                    setattr(endpoint, name, value)
                endpoint.save(update_fields=["position_xact", "position_id"])
            created += len(wanted)
            if not page.has_more:
                return created
    return created


def event_payload(change: Change) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp, and the change as the feed gives it."""
    data = dict(ChangeSerializer(change).data)
    return {"type": f"{change.resource}.{change.action}", "timestamp": data["occurred_at"], "data": data}


def _delivery(endpoint: WebhookEndpoint, change: Change) -> WebhookDelivery:
    return WebhookDelivery(
        tenant_id=endpoint.tenant_id,
        endpoint=endpoint,
        event_id=change.id,
        event_type=f"{change.resource}.{change.action}",
        resource=change.resource,
        record_id=change.record_id,
        payload=event_payload(change),
    )


# --- delivery (worker, as the owner) -------------------------------------------------------------------

# A delivery is sent only once every earlier event of its record for this endpoint has succeeded or
# been given up: one record's events arrive in order.
DUE_SQL = """
SELECT d.id FROM webhook_delivery d
 WHERE d.endpoint_id = %s AND d.state = 'pending' AND d.next_attempt_at <= now()
   AND NOT EXISTS (SELECT 1 FROM webhook_delivery e
                    WHERE e.endpoint_id = d.endpoint_id AND e.state = 'pending'
                      AND e.resource = d.resource AND e.record_id = d.record_id AND e.event_id < d.event_id)
 ORDER BY d.event_id
 LIMIT %s
"""


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0


def deliver_endpoint(endpoint_id: int) -> DeliveryRun:
    """Sends the endpoint's due deliveries, one at a time, in order per record. One job per endpoint at a
    time: a session advisory lock, which a killed worker's connection releases with it."""
    run = DeliveryRun()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('webhooks.deliver'), %s)", [endpoint_id])
        if not cursor.fetchone()[0]:
            return run
    try:
        while run.sent + run.failed < DELIVER_MAX_PER_JOB:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
            if endpoint is None:
                return run
            with connection.cursor() as cursor:
                cursor.execute(DUE_SQL, [endpoint_id, 20])
                due_ids = [row[0] for row in cursor.fetchall()]
            if not due_ids:
                return run
            for delivery in WebhookDelivery.objects.filter(pk__in=due_ids).order_by("event_id"):
                outcome = _attempt(endpoint, delivery)
                if outcome.ok:
                    run.sent += 1
                else:
                    run.failed += 1
                if not _record(endpoint.pk, delivery.pk, outcome):
                    return run  # the endpoint was disabled
        with transaction.atomic():
            defer_delivery(endpoint_id)  # more are due: let other endpoints' jobs run first
        return run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('webhooks.deliver'), %s)", [endpoint_id])


def signed_headers(secret: str, message_id: str, body: bytes, at: dt.datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> sender.Outcome:
    try:
        target = urlguard.resolve(endpoint.url)
        secret = secrets.decrypt(endpoint.secret_encrypted)
    except (urlguard.RefusedURL, secrets.SecretUnreadable) as error:
        return sender.Outcome(None, str(error)[:500])
    body = orjson.dumps(delivery.payload)
    headers = signed_headers(secret, f"msg_{delivery.event_id}", body, timezone.now())
    return sender.post(target, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling from the base, capped."""
    return float(min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_CAP_SECONDS))


def _record(endpoint_id: int, delivery_id: int, outcome: sender.Outcome) -> bool:
    """Writes an attempt's outcome; False when the endpoint is (now) disabled."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        delivery = WebhookDelivery.objects.select_for_update().defer("payload").get(pk=delivery_id)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status = outcome.status
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.state = DeliveryState.SUCCEEDED
            delivery.delivered_at = now
            endpoint.consecutive_failures = 0
        else:
            endpoint.consecutive_failures += 1
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.state = DeliveryState.FAILED
            else:
                delivery.next_attempt_at = now + dt.timedelta(seconds=retry_delay(delivery.attempts))
        delivery.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "last_status",
                "last_error",
                "state",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        endpoint.save(update_fields=["consecutive_failures"])
        if endpoint.is_active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
            _disable(
                endpoint,
                f"{endpoint.consecutive_failures} attempts in a row failed; the last: {outcome.error}"[:500],
            )
        return endpoint.is_active


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Disables the endpoint and emails the firm's admins (after the commit: no mail for a rollback)."""
    endpoint.is_active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    log.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    endpoint_id, url, admin_id = endpoint.pk, endpoint.url, endpoint.acting_admin_id
    transaction.on_commit(lambda: _tell_admins(endpoint_id, url, admin_id, reason))


def _tell_admins(endpoint_id: int, url: str, acting_admin_id: int, reason: str) -> None:
    with rls.acting_as(acting_admin_id) as context:
        if context.is_admin:
            # An admin reads the firm's memberships and members (RLS): every active admin's address.
            recipients = list(
                Membership.objects.filter(role="admin", user__is_active=True)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        else:
            recipients = []
    if not recipients:
        log.warning("Webhook endpoint %s disabled; no admin to tell.", endpoint_id)
        return
    send_mail(
        subject=f"Webhook endpoint disabled: {url}",
        message=(
            f"Deliveries to webhook endpoint {endpoint_id} ({url}) have stopped.\n\n{reason}\n\n"
            "Its deliveries are kept: fix the receiver, then enable the endpoint again "
            f"(PATCH /api/v1/webhooks/{endpoint_id}/ with is_active true); pending events are sent then."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )
