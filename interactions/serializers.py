"""Serializers for interactions."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.serializers import AUDIT_FIELDS, TenantMemberField, TenantModelSerializer, user_summary
from interactions.models import Interaction
from opportunities.serializers import opportunity_summary
from organizations.serializers import organization_summary
from tasks.serializers import InteractionFollowUpTaskSerializer


class InteractionSerializer(TenantModelSerializer):
    user = TenantMemberField(required=False, allow_null=True, help_text="Who logged it; defaults to you.")
    # The model's column is a PostgreSQL integer: a larger value is this field's 400, not the database's.
    duration_minutes = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    follow_up_task = InteractionFollowUpTaskSerializer(
        write_only=True,
        required=False,
        help_text="On create, with follow_up_on: a task due that day about the same organization, contact and"
        " opportunity (assigned to you unless it names an assignee), written with the interaction.",
    )
    expandable = {
        "organization": organization_summary,
        "contact": contact_summary,
        "opportunity": opportunity_summary,
        "principal": organization_summary,
        "user": user_summary,
    }

    class Meta:
        model = Interaction
        fields = (
            "id",
            "type",
            "occurred_at",
            "duration_minutes",
            "subject",
            "notes",
            "organization",
            "contact",
            "opportunity",
            "principal",
            "user",
            "outcome",
            "sentiment",
            "follow_up_on",
            "follow_up_done",
            "follow_up_task",
            *AUDIT_FIELDS,
        )
        read_only_fields = AUDIT_FIELDS
        extra_kwargs = {"principal": {"help_text": "Taken from the opportunity when one is given."}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "follow_up_task" in attrs:
            if self.instance is not None:
                raise serializers.ValidationError(
                    {"follow_up_task": "Only when the interaction is created: create a task at tasks/."}
                )
            if attrs.get("follow_up_on") is None:
                raise serializers.ValidationError(
                    {"follow_up_task": "Needs follow_up_on: the day it is due."}
                )
        return attrs
