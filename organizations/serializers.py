"""Serializers for organizations, their relationships and books."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from crm.api.serializers import AUDIT_FIELDS, TenantMemberField, TenantModelSerializer, user_summary
from crm.models import PrincipalAssignment
from crm.rls import context_of
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
    OrganizationType,
)


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ("id", "name", "type")
        read_only_fields = fields


def organization_summary() -> type[serializers.Serializer]:
    return OrganizationSummarySerializer


class OrganizationSerializer(TenantModelSerializer):
    account_manager = TenantMemberField(required=False, allow_null=True)
    expandable = {"parent": organization_summary, "account_manager": user_summary}

    class Meta:
        model = Organization
        fields = (
            "id",
            "name",
            "type",
            "priority",
            "segment",
            "parent",
            "account_manager",
            "status",
            "phone",
            "email",
            "website",
            "street",
            "city",
            "state",
            "postal_code",
            "country",
            "notes",
            *AUDIT_FIELDS,
        )
        read_only_fields = AUDIT_FIELDS

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A principal's scope key is its own id, which is in nobody's book yet: only admins add them
        # (the database's insert policy refuses anyone else anyway).
        adding_principal = self.instance is None and attrs.get("type") == OrganizationType.PRINCIPAL
        if adding_principal and not context_of(self.context["request"]).is_admin:
            raise serializers.ValidationError({"type": ["Only an admin can add a principal."]})
        return attrs


class DistributorAuthorizationSerializer(TenantModelSerializer):
    expandable = {"distributor": organization_summary, "principal": organization_summary}

    class Meta:
        model = DistributorAuthorization
        fields = ("id", "distributor", "principal", "authorized_on", "expires_on", "notes", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS


class CustomerDistributorSerializer(TenantModelSerializer):
    expandable = {"customer": organization_summary, "distributor": organization_summary}

    class Meta:
        model = CustomerDistributor
        fields = ("id", "customer", "distributor", "is_primary", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS


class PrincipalAssignmentSerializer(TenantModelSerializer):
    user = TenantMemberField()
    expandable = {"user": user_summary, "principal": organization_summary}

    class Meta:
        model = PrincipalAssignment
        fields = ("id", "user", "principal", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS


TIMELINE_EVENT_KINDS = ["interaction", "stage_change", "contact_added", "opportunity_added"]


class TimelineEventSerializer(serializers.Serializer):
    """Something that happened to an organization."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=TIMELINE_EVENT_KINDS)
    id = serializers.IntegerField(
        help_text="The interaction's, contact's or opportunity's id; for a stage change, the history entry's."
    )
    title = serializers.CharField()
    actor = serializers.IntegerField(allow_null=True)
    detail = serializers.DictField()


class TimelinePageSerializer(serializers.Serializer):
    """A page of the timeline, newest first: follow `next` for older events."""

    next = serializers.URLField(allow_null=True)
    results = TimelineEventSerializer(many=True)
