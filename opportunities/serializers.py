"""Serializers for opportunities, their products and contacts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from contacts.serializers import contact_summary
from crm.api.batch import ClosedSerializer
from crm.api.serializers import (
    AUDIT_FIELDS,
    StrictJSONTypes,
    TenantMemberField,
    TenantModelSerializer,
    user_summary,
)
from opportunities.models import (
    CLOSED_STAGES,
    DEFAULT_STAGE_PROBABILITIES,
    OPEN_STAGES,
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
    owner = TenantMemberField(
        required=False, allow_null=True, help_text="Who works the deal; defaults to you (the database's)."
    )
    weekly_case_volume = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    probability = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        help_text="Percent. Follows the stage (the firm's stage probabilities) on create and on a stage change"
        " unless the same request sets it to another value; closed won is 100, closed lost 0 (ADR 0032).",
    )
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


def _stage_field(stage: str) -> serializers.IntegerField:
    label = Stage(stage).label
    if stage in CLOSED_STAGES:
        fixed = DEFAULT_STAGE_PROBABILITIES[stage]
        return serializers.IntegerField(
            required=False,
            min_value=fixed,
            max_value=fixed,
            help_text=f"{label}: fixed at {fixed}; may be sent back unchanged.",
        )
    return serializers.IntegerField(min_value=0, max_value=100, help_text=f"{label}, in percent (0–100).")


class StageProbabilitiesSerializer(ClosedSerializer):
    """A firm's probability per stage (ADR 0032): what an opportunity's probability becomes when it
    reaches the stage. PUT gives every open stage, PATCH some; closed won and closed lost are fixed."""

    new_lead = _stage_field(Stage.NEW_LEAD)
    initial_outreach = _stage_field(Stage.INITIAL_OUTREACH)
    sample_visit_offered = _stage_field(Stage.SAMPLE_VISIT_OFFERED)
    feedback_logged = _stage_field(Stage.FEEDBACK_LOGGED)
    demo_scheduled = _stage_field(Stage.DEMO_SCHEDULED)
    closed_won = _stage_field(Stage.CLOSED_WON)
    closed_lost = _stage_field(Stage.CLOSED_LOST)

    # Another key is a 400 naming it (a misspelt stage must not be a 200 that changed nothing), and the
    # schema says so (additionalProperties: false).
    closed = True

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {stage: value for stage, value in attrs.items() if stage in OPEN_STAGES}
