"""Admin for interactions: the touch points logged against organizations, contacts and opportunities."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from crm.admin_base import CrmInline, CrmModelAdmin, limit_choices, mine_filter, related_filter
from interactions.models import Interaction, InteractionType
from organizations.models import OrganizationType
from samples.admin import SampleInline, SampleLineInline

limit_choices(Interaction, "principal", type=OrganizationType.PRINCIPAL)


@admin.register(Interaction)
class InteractionAdmin(CrmModelAdmin):
    date_hierarchy = "occurred_at"
    list_display = (
        "occurred_at",
        "type",
        "subject",
        "organization",
        "contact",
        "principal",
        "user",
        "sentiment",
        "follow_up_on",
        "follow_up_done",
    )
    list_display_links = ("occurred_at", "subject")
    list_filter = (
        "type",
        related_filter("principal"),
        "sentiment",
        "follow_up_done",
        mine_filter("user", "logged by"),
    )
    list_select_related = ("organization", "contact", "principal", "user")
    search_fields = ("subject", "outcome")
    search_help_text = "Words or word beginnings of the subject or outcome."
    autocomplete_fields = ("organization", "contact", "opportunity", "principal", "user")
    fieldsets = (
        (None, {"fields": ("type", "occurred_at", "duration_minutes", "subject", "user")}),
        ("With", {"fields": ("organization", "contact", "opportunity", "principal")}),
        ("Outcome", {"fields": ("outcome", "sentiment", "notes", ("follow_up_on", "follow_up_done"))}),
    )

    # A sample interaction's sample (status, feedback) and the products sampled; saved in this order, so
    # the lines find their sample.
    inlines = (SampleInline, SampleLineInline)

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if obj is not None and obj.type != InteractionType.SAMPLE:
            return []  # only a sample interaction has them (the database says so too)
        return super().get_inline_instances(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "user": request.user.pk,
            "occurred_at": timezone.now(),
            **super().get_changeform_initial_data(request),
        }


class InteractionInline(CrmInline):
    """On an opportunity's page: its touch points (with its customer unless another is chosen)."""

    model = Interaction
    fk_name = "opportunity"
    fields = (
        "occurred_at",
        "type",
        "subject",
        "organization",
        "contact",
        "user",
        "sentiment",
        "follow_up_on",
    )
    autocomplete_fields = ("organization", "contact", "user")
    list_select_related = ("organization", "contact", "user")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        form_fields = formset.form.base_fields
        if obj is not None and "organization" in form_fields:
            form_fields["organization"].initial = obj.customer_id
        if "user" in form_fields:
            form_fields["user"].initial = request.user.pk
        return formset
