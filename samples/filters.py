"""List filters for samples."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from crm.api.filtering import DateTimeFilter, StrictBooleanFilter, TenantFilterSet, id_filter
from samples.models import AWAITING_FEEDBACK_STATUSES, OPEN_SAMPLE_STATUSES, Sample, SampleStatus

# Parameters that choose statuses themselves; without any, a list shows the open samples (SampleViewSet).
STATUS_PARAMETERS = frozenset({"status", "is_open", "awaiting_feedback", "interaction"})


class SampleFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=SampleStatus.choices,
        help_text="Samples at these statuses. Without it (or `is_open`), the open ones: requested, sent, "
        "delivered.",
    )
    is_open = StrictBooleanFilter(
        method="filter_is_open",
        help_text="true: requested, sent or delivered; false: feedback received or cancelled.",
    )
    awaiting_feedback = StrictBooleanFilter(
        method="filter_awaiting_feedback",
        help_text="true: sent or delivered, no feedback yet; false: any other status.",
    )
    principal = id_filter("scope_principal_id", "Only the samples of this principal.")
    organization = id_filter("interaction__organization_id", "Only the samples given to this organization.")
    interaction = id_filter("interaction_id")
    user = id_filter("interaction__user_id", "Only the samples logged by this member.")
    requested_after = DateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_before = DateTimeFilter(field_name="requested_at", lookup_expr="lt")

    value_only_methods = frozenset({"filter_is_open", "filter_awaiting_feedback"})

    class Meta:
        model = Sample
        fields: list[str] = []

    def filter_is_open(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        if value:
            return queryset.filter(status__in=OPEN_SAMPLE_STATUSES)
        return queryset.exclude(status__in=OPEN_SAMPLE_STATUSES)

    def filter_awaiting_feedback(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        if value:
            return queryset.filter(status__in=AWAITING_FEEDBACK_STATUSES)
        return queryset.exclude(status__in=AWAITING_FEEDBACK_STATUSES)
