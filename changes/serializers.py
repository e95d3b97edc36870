"""The change feed's query and response shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from changes.resources import RESOURCES
from changes.selectors import ACTION_NAMES, DEFAULT_LIMIT, MAX_LIMIT, Change


class FeedParamsSerializer(serializers.Serializer):
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The `next` cursor of your previous read; absent: from the oldest change.",
    )
    resource = serializers.CharField(
        required=False,
        help_text="Only these resources, comma-separated (`organizations,contacts`).",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        default=DEFAULT_LIMIT,
        help_text=f"At most this many changes (1–{MAX_LIMIT}, default {DEFAULT_LIMIT}).",
    )

    def validate_resource(self, value: str) -> frozenset[str]:
        names = frozenset(part.strip() for part in value.split(",") if part.strip())
        known = set(RESOURCES)
        unknown = sorted(names - known)
        if unknown or not names:
            raise serializers.ValidationError(
                f"Unknown resource {', '.join(unknown) or '(none given)'}; one of: {', '.join(sorted(known))}."
            )
        return names


# One field renders every entry's time, as DRF renders a DateTimeField (the current time zone, ISO 8601).
_TIME = serializers.DateTimeField()


class ChangeSerializer(serializers.Serializer):
    """One change: which record, what happened, and (for a create or update) the fields it changed."""

    id = serializers.IntegerField(help_text="The change's id (its history entry's); unique, not ordered.")
    resource = serializers.CharField(help_text="The record's resource, as in its URL (`organizations`).")
    record_id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=ACTION_NAMES)
    occurred_at = serializers.DateTimeField()
    actor = serializers.IntegerField(allow_null=True)
    request_id = serializers.CharField()
    tombstone = serializers.BooleanField(
        help_text="A delete, a purge, or the merged side of a merge: the record is gone from lists."
    )
    changes = serializers.DictField(
        child=serializers.ListField(min_length=2, max_length=2, allow_null=True),
        help_text='Changed fields: {"field": [old, new]} (as the record\'s history gives them; a purge: {}).',
    )

    def to_representation(self, instance: Change) -> dict[str, Any]:
        return {
            "id": instance.id,
            "resource": instance.resource,
            "record_id": instance.record_id,
            "action": instance.action,
            "occurred_at": _TIME.to_representation(instance.occurred_at),
            "actor": instance.actor,
            "request_id": instance.request_id,
            "tombstone": instance.tombstone,
            "changes": instance.changes,
        }


class FeedPageSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True)
    next = serializers.CharField(help_text="Pass as `after` to read on; the same cursor when nothing is new.")
    has_more = serializers.BooleanField(help_text="More changes are ready now: read again at once.")
