"""Serializers for tasks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.serializers import AUDIT_FIELDS, TenantMemberField, TenantModelSerializer, user_summary
from opportunities.serializers import opportunity_summary
from organizations.serializers import organization_summary
from tasks.models import Task

# A time of day without an offset (the assignee's local time), as DRF writes it: `09:30:00`. OpenAPI's
# `format: time` is RFC 3339's full-time, which requires an offset, so the schema says what it is instead.
LOCAL_TIME_SCHEMA = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "maxLength": 15,
    "example": "09:30:00",
}


@extend_schema_field(LOCAL_TIME_SCHEMA)
class LocalTimeField(serializers.TimeField):
    """A local time of day (no offset): written `HH:MM:SS` (microseconds when there are some)."""


class TaskSerializer(TenantModelSerializer):
    due_time = LocalTimeField(required=False, allow_null=True, help_text="In the assignee's time zone.")
    assignee = TenantMemberField(
        required=False, help_text="Who does it (a member of the firm); you by default (the database's)."
    )
    expandable = {
        "assignee": user_summary,
        "organization": organization_summary,
        "contact": contact_summary,
        "opportunity": opportunity_summary,
        "principal": organization_summary,
        "created_by": user_summary,
    }

    class Meta:
        model = Task
        fields = (
            "id",
            "title",
            "notes",
            "assignee",
            "due_on",
            "due_time",
            "priority",
            "status",
            "completed_at",
            "snoozed_until",
            "organization",
            "contact",
            "opportunity",
            "principal",
            *AUDIT_FIELDS,
        )
        read_only_fields = ("completed_at", *AUDIT_FIELDS)
        extra_kwargs = {
            "principal": {
                "help_text": "Taken from the opportunity when one is given, or from the organization when it"
                " is a principal's own."
            },
            "organization": {"help_text": "Taken from the contact when only a contact is given."},
            "created_by": {"help_text": "Who created the task (the database's)."},
        }


class InteractionFollowUpTaskSerializer(serializers.ModelSerializer):
    """The task an interaction's follow-up creates: due on the interaction's follow_up_on, about its
    organization, contact and opportunity (tasks.services.task_create_for_follow_up)."""

    assignee = TenantMemberField(required=False, help_text="You by default.")
    due_time = LocalTimeField(required=False, allow_null=True, help_text="In the assignee's time zone.")

    class Meta:
        model = Task
        fields = ("title", "notes", "assignee", "due_time", "priority")
        extra_kwargs = {
            "title": {
                "required": False,
                "help_text": "`Follow up: <the interaction's subject>` by default.",
            }
        }
