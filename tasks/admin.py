"""Admin for tasks: a member's list opens on their own open tasks ("My tasks"), soonest due first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.admin_base import CrmModelAdmin, limit_choices, related_filter
from crm.timezones import member_today
from organizations.models import OrganizationType
from tasks.models import Task, TaskStatus

limit_choices(Task, "principal", type=OrganizationType.PRINCIPAL)


class AssigneeFilter(admin.SimpleListFilter):
    """Mine by default (the list opens on "My tasks"); everyone's on request."""

    title = "assignee"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "Everyone's")]

    def choices(self, changelist: Any) -> Iterator[Any]:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Mine",
        }
        yield {
            "selected": self.value() == "all",
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": "Everyone's",
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "all":
            return queryset
        return queryset.filter(assignee_id=request.user.pk)


class StatusFilter(admin.SimpleListFilter):
    """Open by default; done, cancelled or any on request."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*TaskStatus.choices, ("any", "Any")]

    def choices(self, changelist: Any) -> Iterator[Any]:
        for value, label in self.lookup_choices:
            selected = self.value() == value or (self.value() is None and value == TaskStatus.OPEN)
            query = (
                changelist.get_query_string(remove=[self.parameter_name])
                if value == TaskStatus.OPEN
                else changelist.get_query_string({self.parameter_name: value})
            )
            yield {"selected": selected, "query_string": query, "display": label}

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or TaskStatus.OPEN
        if value == "any":
            return queryset
        return queryset.filter(status=value) if value in TaskStatus.values else queryset.none()


class DueFilter(admin.SimpleListFilter):
    """Overdue, due today or later, in the signed-in member's time zone."""

    title = "due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "Overdue"), ("today", "Today"), ("later", "Later")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = member_today(request.user)
        if self.value() == "overdue":
            return queryset.filter(due_on__lt=today)
        if self.value() == "today":
            return queryset.filter(due_on=today)
        if self.value() == "later":
            return queryset.filter(due_on__gt=today)
        return queryset


@admin.register(Task)
class TaskAdmin(CrmModelAdmin):
    list_display = (
        "due_on",
        "due_time",
        "title",
        "priority",
        "status",
        "assignee",
        "organization",
        "opportunity",
        "principal",
        "snoozed_until",
    )
    list_display_links = ("due_on", "title")
    list_filter = (AssigneeFilter, StatusFilter, DueFilter, "priority", related_filter("principal"))
    list_select_related = ("assignee", "organization", "opportunity", "principal")
    ordering = ("due_on", "due_time", "id")
    autocomplete_fields = ("assignee", "organization", "contact", "opportunity", "principal")
    readonly_fields = ("completed_at",)
    actions = ("mark_done",)
    fieldsets = (
        (None, {"fields": ("title", "assignee", ("due_on", "due_time"), "priority", "notes")}),
        ("State", {"fields": ("status", "completed_at", "snoozed_until")}),
        ("About", {"fields": ("organization", "contact", "opportunity", "principal")}),
    )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "assignee": request.user.pk,
            "due_on": member_today(request.user),
            **super().get_changeform_initial_data(request),
        }

    @admin.action(description="Mark the selected tasks done")
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Row by row through save(): the database keeps completed_at, the version and the history.
        done = 0
        for task in queryset.filter(status=TaskStatus.OPEN):
            task.status = TaskStatus.DONE
            task.save(update_fields=["status", "updated_at"])
            done += 1
        self.message_user(request, f"{done} task{'s' if done != 1 else ''} marked done.")
