"""Admin for samples: a sample interaction's status, feedback and lines, on the interaction's page and in
a list of their own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crm.admin_base import CrmInline, CrmModelAdmin, live
from organizations.models import Organization, OrganizationType
from samples.models import Sample, SampleLine


class PrincipalFilter(admin.SimpleListFilter):
    """The sample's principal (its scope key, kept by the database from the interaction)."""

    title = "principal"
    parameter_name = "principal"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        principals = live(Organization.objects.filter(type=OrganizationType.PRINCIPAL)).order_by("name")
        return [(str(p.pk), p.name) for p in principals]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(scope_principal_id=int(value)) if str(value).isdigit() else queryset.none()


class SampleInline(CrmInline):
    """On a sample interaction's page: where its sample is, and the feedback."""

    model = Sample
    fields = (
        "status",
        "feedback",
        "sentiment",
        "requested_at",
        "sent_at",
        "delivered_at",
        "feedback_received_at",
    )
    readonly_fields = ("requested_at", "sent_at", "delivered_at", "feedback_received_at")
    max_num = 1
    show_change_link = False
    verbose_name_plural = "sample"


class SampleLineInline(CrmInline):
    """On a sample interaction's page: the products sampled (of its principal), each labelled by name."""

    model = SampleLine
    fields = ("product", "quantity", "unit")
    autocomplete_fields = ("product",)
    list_select_related = ("product",)
    show_change_link = False
    verbose_name = "product sampled"
    verbose_name_plural = "products sampled"


@admin.register(Sample)
class SampleAdmin(CrmModelAdmin):
    list_display = (
        "interaction",
        "organization",
        "status",
        "requested_at",
        "sent_at",
        "delivered_at",
        "sentiment",
    )
    list_filter = ("status", PrincipalFilter, "sentiment")
    list_select_related = ("interaction", "interaction__organization")
    search_fields = ("interaction__subject", "feedback")
    autocomplete_fields = ("interaction",)
    fields = (
        "interaction",
        "status",
        ("requested_at", "sent_at", "delivered_at", "feedback_received_at", "cancelled_at"),
        "feedback",
        "sentiment",
    )
    readonly_fields = ("requested_at", "sent_at", "delivered_at", "feedback_received_at", "cancelled_at")

    @admin.display(description="organization", ordering="interaction__organization__name")
    def organization(self, obj: Sample) -> Any:
        return obj.interaction.organization

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        # A sample stays with its interaction (the database refuses a move).
        return [*readonly, "interaction"] if obj is not None else readonly
