"""The filter forms' short cuts (crm.api.filtering) clean every query exactly as Django's own form does:
an omitted field gets what Django would clean it to, without the per-request work."""

from __future__ import annotations

from typing import Any

import django_filters
import pytest
from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict

from crm.api.filtering import TenantFilterSet
from interactions.filters import InteractionFilter
from opportunities.filters import OpportunityFilter
from organizations.filters import OrganizationFilter
from organizations.models import Organization


class CheckboxFilter(django_filters.Filter):
    field_class = forms.BooleanField  # an omitted checkbox cleans to False, not to an empty value


class OddFilter(TenantFilterSet):
    """Fields whose omitted value is not empty, or that read names other than their own."""

    plain_boolean = django_filters.BooleanFilter(field_name="is_active")  # NullBooleanField: None
    checkbox = CheckboxFilter(field_name="city")
    name_range = django_filters.RangeFilter(field_name="name")  # a MultiWidget: name_range_min/_max
    in_list = django_filters.BaseInFilter(field_name="id")  # django-filter's CSV widget

    class Meta:
        model = Organization
        fields: list[str] = []


QUERIES = [
    "",
    "type=customer&type=principal",
    "city=Lyon&parent=3",
    "status=",
    "created_after=2020-01-01T00:00Z&priority=A",
    "is_open=false&stage=new_lead",
    "follow_up_due=2026-01-01&type=call",
    "checkbox=on&name_range_min=a&name_range_max=m",
    "in_list=1,2,3&plain_boolean=true",
    "parent=x&type=nope",  # errors
]


def django_cleaned(form: forms.Form) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same data cleaned by Django's own Form._clean_fields (every field through its bound field)."""
    twin = forms.Form.__new__(type(form))
    forms.Form.__init__(twin, form.data, prefix=form.prefix)
    twin.cleaned_data = {}
    twin._errors = ErrorDict()
    forms.Form._clean_fields(twin)  # type: ignore[attr-defined]
    return twin.cleaned_data, dict(twin.errors)


@pytest.mark.parametrize(
    "filterset_class", [OrganizationFilter, OpportunityFilter, InteractionFilter, OddFilter]
)
@pytest.mark.parametrize("query", QUERIES)
def test_a_filter_form_cleans_a_query_as_djangos_form_does(filterset_class, query):
    filterset = filterset_class(QueryDict(query), queryset=filterset_class._meta.model.objects.none())
    form = filterset.form
    form.is_valid()
    expected_data, expected_errors = django_cleaned(form)
    assert form.cleaned_data == {k: v for k, v in expected_data.items() if k not in expected_errors}
    assert dict(form.errors) == expected_errors


def test_an_omitted_checkbox_still_cleans_to_false():
    filterset = OddFilter(QueryDict(""), queryset=Organization.objects.none())
    assert filterset.is_valid()
    assert filterset.form.cleaned_data["checkbox"] is False
    assert filterset.form.cleaned_data["plain_boolean"] is None


def test_the_filters_are_copied_once_when_first_used_and_bound_to_their_filterset():
    filterset = OrganizationFilter(QueryDict("type=customer"), queryset=Organization.objects.all())
    assert "_filters" not in filterset.__dict__
    filters = filterset.filters
    assert filters is filterset.filters
    assert filters["type"] is not OrganizationFilter.base_filters["type"]
    assert filters["type"].parent is filterset and filters["type"].model is Organization
    assert '"organization"."type" = customer' in str(filterset.qs.query)
