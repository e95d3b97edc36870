"""Serializers for samples and their lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models.functions import Now
from rest_framework import serializers

from crm.api.serializers import AUDIT_FIELDS, StrictJSONTypes, TenantModelSerializer
from interactions.models import Interaction, InteractionType
from products.models import Product
from samples.models import Sample, SampleLine, SampleUnit


class SampleLineSerializer(StrictJSONTypes, serializers.ModelSerializer):
    """A product sampled, how much of it. Written with its sample: the sample's `lines` are the whole set."""

    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    unit = serializers.ChoiceField(choices=SampleUnit.choices, default=SampleUnit.CASE)

    class Meta:
        model = SampleLine
        fields = ("id", "product", "quantity", "unit")
        read_only_fields = ("id",)
        extra_kwargs = {"product": {"queryset": Product.objects.filter(deleted_at__isnull=True)}}


class SampleSerializer(TenantModelSerializer):
    interaction = serializers.PrimaryKeyRelatedField(
        queryset=Interaction.objects.filter(deleted_at__isnull=True),
        help_text="The sample interaction (type `sample`, with a principal); it cannot change.",
    )
    principal = serializers.IntegerField(
        source="scope_principal_id", read_only=True, help_text="The interaction's principal (database)."
    )
    organization = serializers.IntegerField(
        source="interaction.organization_id", read_only=True, help_text="Who was sampled."
    )
    lines = SampleLineSerializer(
        many=True,
        required=False,
        help_text="The products sampled. Given on an update, they replace the sample's lines (by product).",
    )

    class Meta:
        model = Sample
        fields = (
            "id",
            "interaction",
            "principal",
            "organization",
            "status",
            "requested_at",
            "sent_at",
            "delivered_at",
            "feedback_received_at",
            "cancelled_at",
            "feedback",
            "sentiment",
            "lines",
            *AUDIT_FIELDS,
        )
        read_only_fields = (
            "requested_at",
            "sent_at",
            "delivered_at",
            "feedback_received_at",
            "cancelled_at",
            *AUDIT_FIELDS,
        )
        extra_kwargs = {
            "status": {
                "help_text": "requested → sent → delivered → feedback_received (steps may be skipped, never "
                "undone), or cancelled; the database dates each step."
            }
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Friendlier messages for rules the database enforces anyway (its triggers and CHECKs).
        instance: Sample | None = self.instance
        interaction: Interaction = attrs.get("interaction") or instance.interaction  # type: ignore[union-attr]
        if (
            instance is not None
            and "interaction" in attrs
            and attrs["interaction"].pk != instance.interaction_id
        ):
            raise serializers.ValidationError({"interaction": ["A sample stays with its interaction."]})
        if instance is None:
            if interaction.type != InteractionType.SAMPLE:
                raise serializers.ValidationError(
                    {"interaction": ["Only a sample interaction has a sample."]}
                )
            if interaction.principal_id is None:
                raise serializers.ValidationError(
                    {
                        "interaction": [
                            "A sample is of a principal's products: give the interaction a principal."
                        ]
                    }
                )
        lines = attrs.get("lines")
        if lines is not None:
            errors: list[dict[str, list[str]]] = []
            seen: set[int] = set()
            for line in lines:
                product: Product = line["product"]
                error: dict[str, list[str]] = {}
                if product.principal_id != interaction.principal_id:
                    error["product"] = ["Must be one of the sample's principal's products."]
                elif product.pk in seen:
                    error["product"] = ["This product is already on this sample."]
                seen.add(product.pk)
                errors.append(error)
            if any(errors):
                raise serializers.ValidationError({"lines": errors})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Sample:
        lines = validated_data.pop("lines", None) or []
        with transaction.atomic():
            sample = Sample.objects.create(**validated_data)
            _write_lines(sample, lines, new=True)
        return sample

    def update(self, instance: Sample, validated_data: dict[str, Any]) -> Sample:
        lines = validated_data.pop("lines", None)
        with transaction.atomic():
            sample = super().update(instance, validated_data)
            if lines is not None:
                _write_lines(sample, lines)
        return sample


def _write_lines(sample: Sample, lines: list[dict[str, Any]], *, new: bool = False) -> None:
    """Make the sample's live lines exactly `lines`, matched by product: changed ones updated, new ones
    added, missing ones soft-deleted (history keeps each step)."""
    current = {
        line.product_id: line
        for line in SampleLine.objects.filter(interaction_id=sample.interaction_id, deleted_at__isnull=True)
    }
    wanted = {line["product"].pk: line for line in lines}
    gone = [line.pk for product, line in current.items() if product not in wanted]
    changed = bool(gone)
    if gone:
        SampleLine.objects.filter(pk__in=gone).update(deleted_at=Now())
    for product_id, line in wanted.items():
        existing = current.get(product_id)
        changed = (
            changed
            or existing is None
            or (existing.quantity, existing.unit) != (line["quantity"], line["unit"])
        )
        if existing is None:
            SampleLine.objects.create(
                tenant_id=sample.tenant_id,
                interaction_id=sample.interaction_id,
                product_id=product_id,
                quantity=line["quantity"],
                unit=line["unit"],
            )
        elif (existing.quantity, existing.unit) != (line["quantity"], line["unit"]):
            SampleLine.objects.filter(pk=existing.pk).update(quantity=line["quantity"], unit=line["unit"])
    if changed and not new:
        # The lines are part of the sample: its version (ETag, If-Match) and the change feed move on with them.
        Sample.objects.filter(pk=sample.pk).update(updated_at=Now())
