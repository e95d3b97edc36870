"""List filters for opportunities."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from crm.api.filtering import StrictBooleanFilter, TenantFilterSet, id_filter
from opportunities.models import (
    CLOSED_STAGES,
    Opportunity,
    OpportunityContact,
    OpportunityPriority,
    OpportunityProduct,
    OpportunityStatus,
    Stage,
)


class OpportunityFilter(TenantFilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    status = django_filters.MultipleChoiceFilter(choices=OpportunityStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=OpportunityPriority.choices)
    principal = id_filter("principal_id")
    customer = id_filter("customer_id")
    distributor = id_filter("distributor_id")
    owner = id_filter("owner_id")
    is_open = StrictBooleanFilter(method="filter_is_open", help_text="Not closed won or lost.")
    expected_close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    expected_close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    closed_after = django_filters.DateFilter(field_name="closed_on", lookup_expr="gte")
    closed_before = django_filters.DateFilter(field_name="closed_on", lookup_expr="lte")
    next_action_due = django_filters.DateFilter(
        field_name="next_action_date", lookup_expr="lte", help_text="Next action date on or before this date."
    )

    value_only_methods = frozenset({"filter_is_open"})

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def filter_is_open(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        return (
            queryset.exclude(stage__in=CLOSED_STAGES) if value else queryset.filter(stage__in=CLOSED_STAGES)
        )


class OpportunityProductFilter(TenantFilterSet):
    opportunity = id_filter("opportunity_id")
    product = id_filter("product_id")

    class Meta:
        model = OpportunityProduct
        fields: list[str] = []


class OpportunityContactFilter(TenantFilterSet):
    opportunity = id_filter("opportunity_id")
    contact = id_filter("contact_id")

    class Meta:
        model = OpportunityContact
        fields: list[str] = []
