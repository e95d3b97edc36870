"""List filters for tasks."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from crm.api.filtering import StrictBooleanFilter, TenantFilterSet, id_filter
from crm.timezones import member_today
from tasks.models import Task, TaskPriority, TaskStatus

ME = "me"
MEMBER_ID = "[0-9]{1,18}"  # ASCII digits only: `\d` would take other scripts' digits too


class MemberOrMeField(forms.CharField):
    """`me` (the caller) or a member's id: anything else is a 400, not a silent miss."""

    def to_python(self, value: Any) -> Any:
        text = str(super().to_python(value) or "")
        if not text:
            return None
        if text == ME:
            return ME
        if not re.fullmatch(MEMBER_ID, text):
            raise forms.ValidationError("Enter `me` or a member's id.", code="invalid")
        return int(text)


@extend_schema_field(
    {"type": "string", "pattern": f"^({ME}|{MEMBER_ID})$", "description": "`me` or a member's id."}
)
class MemberOrMeFilter(django_filters.CharFilter):
    """The schema says what the field accepts, so a client (and schemathesis) sends `me` or digits. A
    schema given this way replaces the filter's own, help text included: the description is part of it."""

    field_class = MemberOrMeField


def _open_not_snoozed(today: date) -> Q:
    return Q(status=TaskStatus.OPEN) & (Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today))


class TaskFilter(TenantFilterSet):
    assignee = MemberOrMeFilter(method="filter_assignee")
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=TaskPriority.choices)
    organization = id_filter("organization_id")
    contact = id_filter("contact_id")
    opportunity = id_filter("opportunity_id")
    principal = id_filter("principal_id")
    due_after = django_filters.DateFilter(
        field_name="due_on", lookup_expr="gte", help_text="Due on or after this day."
    )
    due_before = django_filters.DateFilter(
        field_name="due_on", lookup_expr="lt", help_text="Due before this day."
    )
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        help_text="true: open, not snoozed, due before your today (your time zone); false: the others.",
    )

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_assignee(self, queryset: QuerySet[Any], name: str, value: str | int | None) -> QuerySet[Any]:
        if value is None:
            return queryset
        return queryset.filter(assignee_id=self.request.user.pk if value == ME else value)

    def filter_overdue(self, queryset: QuerySet[Any], name: str, value: bool | None) -> QuerySet[Any]:
        if value is None:
            return queryset
        today = member_today(self.request.user)
        overdue = _open_not_snoozed(today) & Q(due_on__lt=today)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
