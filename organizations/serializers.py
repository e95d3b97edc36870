"""Serializers for organizations, their relationships and books."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from crm.api.limits import MAX_ID
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


# A merge's records are locked and moved in one transaction: a few at a time.
MAX_MERGED = 20


class MergeSerializer(serializers.Serializer):
    """The records to merge into the one addressed (ADR 0029)."""

    merge = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_MERGED,
        help_text="Ids of the records merged into this one: each is deleted, with `merged_into` set, and "
        "every reference to it moves here.",
    )

    def validate_merge(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("An id is listed twice.")
        survivor = self.context.get("survivor")
        if survivor is not None and survivor in value:
            raise serializers.ValidationError("A record is not merged into itself.")
        return value


DUPLICATE_REASONS = (
    "same_name",
    "similar_name_same_city",
    "similar_name_same_phone",
    "same_email",
    "same_phone",
)


class DuplicateOrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=OrganizationType.choices)
    city = serializers.CharField()
    phone = serializers.CharField()


class OrganizationDuplicateSerializer(serializers.Serializer):
    """Two organizations that look like one: merge `right` into `left` (or the other way)."""

    left = DuplicateOrganizationSerializer()
    right = DuplicateOrganizationSerializer()
    reason = serializers.ChoiceField(choices=DUPLICATE_REASONS[:3])
    score = serializers.FloatField(help_text="1 for the same name's words; else the words' Jaccard index.")


class OrganizationDuplicatePageSerializer(serializers.Serializer):
    """A page of candidate pairs, best first: follow `next` for more."""

    next = serializers.URLField(allow_null=True)
    results = OrganizationDuplicateSerializer(many=True)
