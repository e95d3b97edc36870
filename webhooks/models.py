"""Webhook endpoints a firm's admins register, and the deliveries of history's changes to them (ADR 0027).

History is the transactional outbox: a change's entry is written by its table's trigger in the change's
own transaction, so a rolled-back change leaves nothing to send and a committed one is never lost. The
dispatcher reads each endpoint's feed after its position (the change feed's rule, ADR 0026) and turns the
entries it wants into deliveries; delivery jobs send them.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now

from crm.models import Tenant, TransactionIdField, User


class WebhookEndpoint(models.Model):
    """A URL the firm's changes are POSTed to, signed with its own secret (Standard Webhooks)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # "<resource>.<action>" each ("organizations.create"), either side may be "*"; ["*"] is every change.
    events = ArrayField(models.CharField(max_length=80), default=list)
    # Only changes of records of these principals (their scope key); empty: every record.
    principals = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # The signing secret, encrypted (webhooks.secrets): shown once, never readable through the API.
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The admin whose view of the firm the payloads are built under (RLS): who created or last changed it.
    acting_admin = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    # The dispatcher's position in the firm's feed: entries up to it are turned into deliveries.
    position_xact = TransactionIdField(db_default=models.Value("0"))
    position_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "webhook_endpoint"
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "id"], name="webhook_endpoint_tenant")]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (given up)"


class WebhookDelivery(models.Model):
    """One change (history entry) for one endpoint: sent until the endpoint answers 2xx or it is given up."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    # (endpoint_id, tenant_id) REFERENCES webhook_endpoint (id, tenant_id) ON DELETE CASCADE, in the
    # migration: a delivery never points into another firm (crm.models.TenantModel says why), and goes with
    # its endpoint in the database (the runtime role may not delete deliveries itself).
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.DO_NOTHING,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    # The history entry's id: the event's id, `webhook-id` (msg_<id>) in every attempt.
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=80)
    resource = models.CharField(max_length=63)
    record_id = models.BigIntegerField()
    # The body, built once when the delivery is created (as the endpoint's admin sees the change), so each
    # attempt sends the same bytes.
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(db_default=Now())
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "webhook_delivery"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "endpoint", "event_id"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=models.Q(state__in=DeliveryState.values), name="webhook_delivery_state"
            ),
        ]
        indexes = [
            # What is due, per endpoint; and a record's earlier deliveries still pending (order per record).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(
                fields=["endpoint", "resource", "record_id", "event_id"],
                name="webhook_delivery_record",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.record_id} → endpoint {self.endpoint_id}"
