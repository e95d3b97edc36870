"""FilterSet base for business resources: ids, choices and date ranges, named as a user would."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms


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


class StrictBooleanField(forms.Field):
    """true/false/1/0 in any case; anything else is an error rather than "no filter"."""

    default_error_messages = {"invalid": "Must be one of true, false, 1, 0."}

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """BooleanFilter that refuses `?is_open=maybe` (the stock one silently ignores it)."""

    field_class = StrictBooleanField
