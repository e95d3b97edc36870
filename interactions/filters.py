"""List filters for interactions."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import QuerySet

from crm.api.filtering import DateTimeFilter, StrictBooleanFilter, TenantFilterSet, id_filter
from interactions.models import Interaction, InteractionType, Sentiment


class InteractionFilter(TenantFilterSet):
    type = django_filters.MultipleChoiceFilter(choices=InteractionType.choices)
    sentiment = django_filters.MultipleChoiceFilter(choices=Sentiment.choices)
    organization = id_filter("organization_id")
    contact = id_filter("contact_id")
    opportunity = id_filter("opportunity_id")
    principal = id_filter("principal_id")
    user = id_filter("user_id")
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    follow_up_due = django_filters.DateFilter(
        method="filter_follow_up_due", help_text="Open follow-ups due on or before this date."
    )
    follow_up_done = StrictBooleanFilter()

    value_only_methods = frozenset({"filter_follow_up_due"})

    class Meta:
        model = Interaction
        fields: list[str] = []

    def filter_follow_up_due(self, queryset: QuerySet[Any], name: str, value: date) -> QuerySet[Any]:
        return queryset.filter(follow_up_on__lte=value, follow_up_done=False)
