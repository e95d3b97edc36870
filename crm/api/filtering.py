"""FilterSet base for business resources: ids, choices and date ranges, named as a user would."""

from __future__ import annotations

import django_filters


class TenantFilterSet(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")


def id_filter(field_name: str, help_text: str = "") -> django_filters.NumberFilter:
    """Filter by a related id. A hidden or unknown id simply matches nothing."""
    return django_filters.NumberFilter(
        field_name=field_name,
        help_text=help_text or f"Only rows whose {field_name.removesuffix('_id')} has this id.",
    )
