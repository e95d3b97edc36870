"""Serializers for tasks."""

from __future__ import annotations

from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.serializers import AUDIT_FIELDS, TenantMemberField, TenantModelSerializer, user_summary
from opportunities.serializers import opportunity_summary
from organizations.serializers import organization_summary
from tasks.models import Task


class TaskSerializer(TenantModelSerializer):
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

    class Meta:
        model = Task
        fields = ("title", "notes", "assignee", "due_time", "priority")
        extra_kwargs = {
            "title": {
                "required": False,
                "help_text": "`Follow up: <the interaction's subject>` by default.",
            }
        }
