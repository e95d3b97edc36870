"""Serializers for opportunities, their products and contacts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.serializers import (
    AUDIT_FIELDS,
    StrictJSONTypes,
    TenantMemberField,
    TenantModelSerializer,
    user_summary,
)
from opportunities.models import (
    CLOSED_STAGES,
    REASON_MAX_LENGTH,
    Opportunity,
    OpportunityContact,
    OpportunityProduct,
    Stage,
)
from organizations.serializers import organization_summary
from products.serializers import product_summary


class OpportunitySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = ("id", "name", "stage", "principal", "customer")
        read_only_fields = fields


def opportunity_summary() -> type[serializers.Serializer]:
    return OpportunitySummarySerializer


class OpportunitySerializer(TenantModelSerializer):
    owner = TenantMemberField(required=False, allow_null=True)
    weekly_case_volume = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    weighted_weekly_volume = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="weekly_case_volume × probability / 100 (database).",
    )
    expandable = {
        "principal": organization_summary,
        "customer": organization_summary,
        "distributor": organization_summary,
        "owner": user_summary,
    }

    class Meta:
        model = Opportunity
        fields = (
            "id",
            "name",
            "principal",
            "customer",
            "distributor",
            "owner",
            "stage",
            "status",
            "priority",
            "weekly_case_volume",
            "probability",
            "weighted_weekly_volume",
            "expected_close_date",
            "closed_on",
            "win_reason",
            "loss_reason",
            "next_action",
            "next_action_date",
            "stage_changed_at",
            "notes",
            *AUDIT_FIELDS,
        )
        read_only_fields = ("weighted_weekly_volume", "stage_changed_at", *AUDIT_FIELDS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Friendlier messages for rules the database enforces anyway (CHECK constraints and triggers).
        instance = self.instance
        if instance is not None and "principal" in attrs and attrs["principal"].pk != instance.principal_id:
            raise serializers.ValidationError({"principal": ["principal cannot change once set."]})
        stage = attrs.get("stage", getattr(instance, "stage", Stage.NEW_LEAD))
        win_reason = attrs.get("win_reason", getattr(instance, "win_reason", ""))
        loss_reason = attrs.get("loss_reason", getattr(instance, "loss_reason", ""))
        if stage == Stage.CLOSED_WON and not win_reason:
            raise serializers.ValidationError(
                {"win_reason": ["Required when the opportunity is closed won."]}
            )
        if stage == Stage.CLOSED_LOST and not loss_reason:
            raise serializers.ValidationError(
                {"loss_reason": ["Required when the opportunity is closed lost."]}
            )
        if stage not in CLOSED_STAGES and attrs.get("closed_on"):
            raise serializers.ValidationError({"closed_on": ["Only a closed opportunity has a close date."]})
        return attrs


class StageChangeSerializer(StrictJSONTypes):
    stage = serializers.ChoiceField(choices=Stage.choices)
    win_reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX_LENGTH)
    loss_reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX_LENGTH)
    closed_on = serializers.DateField(required=False, allow_null=True)
    next_action = serializers.CharField(required=False, allow_blank=True, max_length=300)
    next_action_date = serializers.DateField(required=False, allow_null=True)


class OpportunityProductSerializer(TenantModelSerializer):
    weekly_case_volume = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    expandable = {"opportunity": opportunity_summary, "product": product_summary}

    class Meta:
        model = OpportunityProduct
        fields = ("id", "opportunity", "product", "weekly_case_volume", "notes", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS


class OpportunityContactSerializer(TenantModelSerializer):
    expandable = {"opportunity": opportunity_summary, "contact": contact_summary}

    class Meta:
        model = OpportunityContact
        fields = ("id", "opportunity", "contact", "role", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS
