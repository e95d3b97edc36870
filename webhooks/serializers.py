"""Webhook endpoints and deliveries as the API shows them (the secret only once, when made)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import PRINCIPAL, book_organizations
from crm.rls import context_of
from webhooks import events, urlguard
from webhooks.models import WebhookDelivery, WebhookEndpoint


@extend_schema_field({"type": "string", "maxLength": 80, "pattern": events.event_pattern()})
class EventPatternField(serializers.CharField):
    """An event pattern, which the schema gives as its regular expression; validate_events checks it (and
    says which resource or action is unknown)."""


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint: where the firm's changes are POSTed, which ones, and whether it is still enabled."""

    url = serializers.URLField(
        max_length=2000,
        help_text="http(s) URL; must resolve to public addresses (unless the service allows private ones).",
    )
    events = serializers.ListField(
        child=EventPatternField(max_length=80),
        min_length=1,
        max_length=100,
        help_text="`<resource>.<action>` patterns: `organizations.create`, `contacts.*`, `*.delete`, or `*`.",
    )
    principals = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="Only changes of records of these principals (shared records have none); empty: all.",
    )

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "events",
            "principals",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "acting_admin",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "acting_admin",
            "created_at",
            "updated_at",
        )

    def validate_url(self, value: str) -> str:
        try:
            urlguard.resolve(value)
        except urlguard.RefusedURL as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        try:
            return sorted({events.check_event(pattern) for pattern in value})
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_principals(self, value: list[int]) -> list[int]:
        wanted = set(value)
        found = set(
            book_organizations()
            ._default_manager.filter(
                tenant_id=context_of(self.context["request"]).member_tenant_id,
                type=PRINCIPAL,
                pk__in=wanted,
            )
            .values_list("pk", flat=True)
        )
        if missing := sorted(wanted - found):
            raise serializers.ValidationError(f"Not principals of the firm: {', '.join(map(str, missing))}.")
        return sorted(wanted)


class CreatedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (`whsec_…`): shown only in this response. Verify each delivery with it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        help_text="The new signing secret, shown only now; the old one stops at once."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One change sent (or being sent) to the endpoint, with its attempts."""

    webhook_id = serializers.SerializerMethodField(help_text="The `webhook-id` header of every attempt.")

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "webhook_id",
            "event_type",
            "resource",
            "record_id",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        )
        read_only_fields = fields

    def get_webhook_id(self, delivery: WebhookDelivery) -> str:
        return f"msg_{delivery.event_id}"

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dict(super().to_representation(instance))
