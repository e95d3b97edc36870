"""Admin for opportunities: placements in the pipeline, with their products, contacts and interactions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crm.admin_base import (
    CrmInline,
    CrmModelAdmin,
    CrmModelForm,
    limit_choices,
    mine_filter,
    related_filter,
)
from interactions.admin import InteractionInline
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct, StageProbability
from organizations.models import OrganizationType

limit_choices(Opportunity, "principal", type=OrganizationType.PRINCIPAL)
limit_choices(Opportunity, "customer", type__in=(OrganizationType.CUSTOMER, OrganizationType.PROSPECT))
limit_choices(Opportunity, "distributor", type=OrganizationType.DISTRIBUTOR)


class OpportunityProductInline(CrmInline):
    model = OpportunityProduct
    fields = ("product", "weekly_case_volume", "notes")
    autocomplete_fields = ("product",)
    list_select_related = ("product", "opportunity")  # both named by the row's label
    show_change_link = False


class OpportunityContactInline(CrmInline):
    model = OpportunityContact
    fields = ("contact", "role")
    autocomplete_fields = ("contact",)
    list_select_related = ("contact", "opportunity")  # both named by the row's label
    show_change_link = False


class OpportunityForm(CrmModelForm):
    # Closing dates the opportunity today unless a date is given (its trigger, before the check).
    constraints_the_database_completes = ("opportunity_closed_on_when_closed",)


@admin.register(Opportunity)
class OpportunityAdmin(CrmModelAdmin):
    form = OpportunityForm
    list_display = (
        "name",
        "principal",
        "customer",
        "stage",
        "status",
        "priority",
        "weekly_case_volume",
        "probability",
        "weighted_weekly_volume",
        "expected_close_date",
        "next_action_date",
        "owner",
    )
    list_filter = ("stage", "status", "priority", related_filter("principal"), mine_filter("owner", "owner"))
    list_select_related = ("principal", "customer", "owner")
    search_fields = ("name", "next_action")
    search_help_text = "Words or word beginnings of the name or next action."
    autocomplete_fields = ("principal", "customer", "distributor", "owner")
    readonly_fields = ("weighted_weekly_volume", "stage_changed_at")
    fieldsets = (
        (None, {"fields": ("name", "principal", "customer", "distributor", "owner")}),
        (
            "Pipeline",
            {
                "fields": (
                    ("stage", "stage_changed_at"),
                    "status",
                    "priority",
                    ("weekly_case_volume", "probability", "weighted_weekly_volume"),
                    ("expected_close_date", "closed_on"),
                    "win_reason",
                    "loss_reason",
                )
            },
        ),
        ("Next step", {"fields": ("next_action", "next_action_date")}),
        ("Notes", {"fields": ("notes",)}),
    )
    inlines = (OpportunityProductInline, OpportunityContactInline, InteractionInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # An opportunity stays with its principal (the database refuses a move).
        return [*readonly, "principal"] if obj is not None else readonly

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "probability" in form.base_fields:
            # Empty on a new opportunity: the database fills in the firm's figure for the stage.
            form.base_fields["probability"].help_text = (
                "Percent. Leave empty on a new opportunity, and unchanged on a stage change, to take the"
                " firm's figure for the stage (Stage probabilities); closed won is 100, closed lost 0."
            )
        return form


@admin.register(OpportunityProduct)
class OpportunityProductAdmin(CrmModelAdmin):
    list_display = ("opportunity", "product", "weekly_case_volume")
    list_select_related = ("opportunity", "product")
    search_fields = ("opportunity__name", "product__name", "product__sku")
    autocomplete_fields = ("opportunity", "product")
    fields = ("opportunity", "product", "weekly_case_volume", "notes")


@admin.register(OpportunityContact)
class OpportunityContactAdmin(CrmModelAdmin):
    list_display = ("opportunity", "contact", "role")
    list_filter = ("role",)
    list_select_related = ("opportunity", "contact")
    search_fields = ("opportunity__name", "contact__first_name", "contact__last_name")
    autocomplete_fields = ("opportunity", "contact")
    fields = ("opportunity", "contact", "role")


@admin.register(StageProbability)
class StageProbabilityAdmin(CrmModelAdmin):
    """The firm's probability per open stage: the firm's admins change them; every member reads them.
    Each firm has its five rows from its creation, so there is nothing to add or delete."""

    admin_only = True
    list_display = ("stage", "probability", "updated_at", "updated_by")
    list_editable = ("probability",)
    list_select_related = ("updated_by",)
    ordering = ("id",)
    fields = ("stage", "probability", "updated_at", "updated_by")
    readonly_fields = ("stage", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
