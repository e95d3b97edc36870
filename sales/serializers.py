"""Serializers of the sales API: facts and kept rows (read-only), aliases and mappings, a confirmation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from crm.rls import context_of
from organizations.models import Organization, OrganizationType
from sales.models import SALES_FIELDS, ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched


class SalesFactSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesFact
        fields = (
            "id",
            "distributor",
            "product",
            "customer",
            "principal",
            "period_kind",
            "period_start",
            "cases",
            "dollars",
            "currency",
            "source_import_id",
            "source_row",
            "created_at",
        )
        read_only_fields = fields


class Suggestion(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.FloatField(help_text="Name similarity, 0 to 1.")


class Suggestions(serializers.Serializer):
    products = Suggestion(many=True, required=False)
    customers = Suggestion(many=True, required=False)


class SalesUnmatchedSerializer(serializers.ModelSerializer):
    suggestions = Suggestions(read_only=True)

    class Meta:
        model = SalesUnmatched
        fields = (
            "id",
            "distributor",
            "product",
            "customer",
            "principal",
            "item_number",
            "sku",
            "description",
            "ship_to_number",
            "ship_to_name",
            "period_kind",
            "period_start",
            "cases",
            "dollars",
            "currency",
            "suggestions",
            "source_import_id",
            "source_row",
            "created_by",
            "created_at",
        )
        read_only_fields = fields


class ConfirmSerializer(serializers.Serializer):
    customer = serializers.IntegerField(
        required=False, min_value=1, help_text="The customer the row's ship-to is."
    )
    product = serializers.IntegerField(
        required=False, min_value=1, help_text="The product the row's item is."
    )


class ConfirmedSerializer(serializers.Serializer):
    alias = serializers.IntegerField(allow_null=True, help_text="The alias learned (or updated), if any.")
    product_distributor = serializers.IntegerField(
        allow_null=True, help_text="The distributor's item number learned for the product, if any."
    )
    rows_matched = serializers.IntegerField(help_text="Kept rows given the confirmed customer or product.")
    facts = serializers.ListField(child=serializers.IntegerField(), help_text="Facts the rows became.")


class _Reference(serializers.PrimaryKeyRelatedField):
    """An organization of the firm, of the given types, that the writer sees (RLS does the rest)."""

    def __init__(self, *, types: tuple[str, ...], **kwargs: Any) -> None:
        self.types = types
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return Organization.objects.none()
        tenant = context_of(request).member_tenant_id
        return Organization.objects.filter(tenant_id=tenant, type__in=self.types, deleted_at__isnull=True)


class CustomerAliasSerializer(serializers.ModelSerializer):
    distributor = _Reference(types=(OrganizationType.DISTRIBUTOR,))
    customer = _Reference(types=(OrganizationType.CUSTOMER, OrganizationType.PROSPECT))

    class Meta:
        model = CustomerAlias
        fields = ("id", "distributor", "kind", "value", "customer", "created_by", "created_at")
        read_only_fields = ("id", "created_by", "created_at")


class ColumnMappingSerializer(serializers.ModelSerializer):
    distributor = _Reference(types=(OrganizationType.DISTRIBUTOR,))
    mapping = serializers.DictField(
        child=serializers.ChoiceField(choices=SALES_FIELDS, allow_null=True),
        help_text="Header as written in the distributor's file → sales field, or null to ignore the column.",
    )

    class Meta:
        model = ColumnMapping
        fields = ("id", "distributor", "mapping", "period_kind", "updated_by", "updated_at")
        read_only_fields = ("id", "updated_by", "updated_at")
