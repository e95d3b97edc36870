"""Serializers for contacts."""

from __future__ import annotations

from rest_framework import serializers

from contacts.models import Contact
from crm.api.serializers import AUDIT_FIELDS, TenantModelSerializer
from organizations.serializers import organization_summary


class ContactSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ("id", "first_name", "last_name", "email", "organization")
        read_only_fields = fields


def contact_summary() -> type[serializers.Serializer]:
    return ContactSummarySerializer


class ContactSerializer(TenantModelSerializer):
    expandable = {"organization": organization_summary, "reports_to": contact_summary}

    class Meta:
        model = Contact
        fields = (
            "id",
            "organization",
            "first_name",
            "last_name",
            "title",
            "role",
            "email",
            "phone",
            "mobile",
            "is_primary",
            "reports_to",
            "notes",
            *AUDIT_FIELDS,
        )
        read_only_fields = AUDIT_FIELDS


class DuplicateContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    organization = serializers.IntegerField()


class ContactDuplicateSerializer(serializers.Serializer):
    """Two contacts that look like one person."""

    left = DuplicateContactSerializer()
    right = DuplicateContactSerializer()
    reason = serializers.ChoiceField(choices=("same_name", "same_email", "same_phone"))
    score = serializers.FloatField(help_text="1 for the same name or email, 0.8 for the same phone.")


class ContactDuplicatePageSerializer(serializers.Serializer):
    """A page of candidate pairs, best first: follow `next` for more."""

    next = serializers.URLField(allow_null=True)
    results = ContactDuplicateSerializer(many=True)
