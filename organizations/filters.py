"""List filters for organizations and their relationships."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import QuerySet

from crm.api.filtering import StrictBooleanFilter, TenantFilterSet, id_filter
from crm.models import PrincipalAssignment
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Priority,
    Segment,
)


class OrganizationFilter(TenantFilterSet):
    type = django_filters.MultipleChoiceFilter(choices=OrganizationType.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    segment = django_filters.MultipleChoiceFilter(choices=Segment.choices)
    status = django_filters.ChoiceFilter(choices=OrganizationStatus.choices)
    parent = id_filter("parent_id")
    account_manager = id_filter("account_manager_id")
    city = django_filters.CharFilter(lookup_expr="iexact")
    state = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Organization
        fields: list[str] = []


class DistributorAuthorizationFilter(TenantFilterSet):
    distributor = id_filter("distributor_id")
    principal = id_filter("principal_id")
    active_on = django_filters.DateFilter(
        method="filter_active_on", help_text="Authorizations in force on this date."
    )

    value_only_methods = frozenset({"filter_active_on"})

    class Meta:
        model = DistributorAuthorization
        fields: list[str] = []

    def filter_active_on(self, queryset: QuerySet[Any], name: str, value: date) -> QuerySet[Any]:
        from django.db.models import Q

        return queryset.filter(Q(authorized_on__isnull=True) | Q(authorized_on__lte=value)).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=value)
        )


class CustomerDistributorFilter(TenantFilterSet):
    customer = id_filter("customer_id")
    distributor = id_filter("distributor_id")
    is_primary = StrictBooleanFilter()

    class Meta:
        model = CustomerDistributor
        fields: list[str] = []


class PrincipalAssignmentFilter(TenantFilterSet):
    user = id_filter("user_id")
    principal = id_filter("principal_id")

    class Meta:
        model = PrincipalAssignment
        fields: list[str] = []
