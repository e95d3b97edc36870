"""Serializers for interactions."""

from __future__ import annotations

from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.serializers import AUDIT_FIELDS, TenantMemberField, TenantModelSerializer, user_summary
from interactions.models import Interaction
from opportunities.serializers import opportunity_summary
from organizations.serializers import organization_summary


class InteractionSerializer(TenantModelSerializer):
    user = TenantMemberField(required=False, allow_null=True, help_text="Who logged it; defaults to you.")
    # The model's column is a PostgreSQL integer: a larger value is this field's 400, not the database's.
    duration_minutes = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
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
            *AUDIT_FIELDS,
        )
        read_only_fields = AUDIT_FIELDS
        extra_kwargs = {"principal": {"help_text": "Taken from the opportunity when one is given."}}
