"""List filters of the sales API."""

from __future__ import annotations

import django_filters

from crm.api.filtering import id_filter
from sales.models import AliasKind, ColumnMapping, CustomerAlias, PeriodKind, SalesFact, SalesUnmatched


class SalesFactFilter(django_filters.FilterSet):
    principal = id_filter("principal_id")
    distributor = id_filter("distributor_id")
    product = id_filter("product_id")
    customer = id_filter("customer_id")
    period_kind = django_filters.ChoiceFilter(choices=PeriodKind.choices)
    period_from = django_filters.DateFilter(
        field_name="period_start", lookup_expr="gte", help_text="Periods starting on or after this date."
    )
    period_to = django_filters.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Periods starting on or before this date."
    )
    source_import = id_filter("source_import_id")

    class Meta:
        model = SalesFact
        fields: list[str] = []


class SalesUnmatchedFilter(django_filters.FilterSet):
    distributor = id_filter("distributor_id")
    principal = id_filter("principal_id")
    source_import = id_filter("source_import_id")
    missing = django_filters.ChoiceFilter(
        choices=[("customer", "customer"), ("product", "product")],
        method="filter_missing",
        help_text="Only rows whose customer (or product) is not recognised.",
    )

    value_only_methods = frozenset({"filter_missing"})

    class Meta:
        model = SalesUnmatched
        fields: list[str] = []

    def filter_missing(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset.filter(**{f"{value}_id__isnull": True})


class CustomerAliasFilter(django_filters.FilterSet):
    distributor = id_filter("distributor_id")
    customer = id_filter("customer_id")
    kind = django_filters.ChoiceFilter(choices=AliasKind.choices)

    class Meta:
        model = CustomerAlias
        fields: list[str] = []


class ColumnMappingFilter(django_filters.FilterSet):
    distributor = id_filter("distributor_id")

    class Meta:
        model = ColumnMapping
        fields: list[str] = []
