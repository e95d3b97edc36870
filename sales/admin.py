"""Admin for distributors' sales (ADR 0034): the facts and the kept (unmatched) rows to read, as imports
wrote them; the customer aliases and the saved column mappings to correct by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.admin_base import CrmModelAdmin, limit_choices, related_filter
from crm.rls import context_of
from organizations.models import OrganizationType
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched

BUYERS = (OrganizationType.CUSTOMER, OrganizationType.PROSPECT)
for _model in (SalesFact, SalesUnmatched, CustomerAlias, ColumnMapping):
    limit_choices(_model, "distributor", type=OrganizationType.DISTRIBUTOR)
for _model in (SalesFact, SalesUnmatched, CustomerAlias):
    limit_choices(_model, "customer", type__in=BUYERS)
for _model in (SalesFact, SalesUnmatched):
    limit_choices(_model, "principal", type=OrganizationType.PRINCIPAL)


class _ImportedAdmin(CrmModelAdmin):
    """Rows only an import writes (a re-imported period replaces them; a kept row becomes a fact when a
    match is confirmed, through the API's confirm): read here, never edited."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _SharedAdmin(CrmModelAdmin):
    """Aliases and mappings: shared rows every member reads and writers change. Not business records (no
    deleted_at): removing one deletes it."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        obj.delete()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.delete()


@admin.register(SalesFact)
class SalesFactAdmin(_ImportedAdmin):
    list_display = (
        "period_start",
        "period_kind",
        "distributor",
        "principal",
        "product",
        "customer",
        "cases",
        "dollars",
        "currency",
    )
    list_filter = (
        related_filter("distributor"),
        related_filter("principal"),
        "period_kind",
        ("period_start", admin.DateFieldListFilter),
    )
    list_select_related = ("distributor", "principal", "product", "customer")
    fields = (
        ("distributor", "principal"),
        ("product", "customer"),
        ("period_kind", "period_start"),
        ("cases", "dollars", "currency"),
        ("source_import_id", "source_row", "created_at"),
    )
    readonly_fields = ("principal", "source_import_id", "source_row", "created_at")


@admin.register(SalesUnmatched)
class SalesUnmatchedAdmin(_ImportedAdmin):
    """Rows of sales files whose product or customer was not recognised, with the file's own values;
    confirming a match (POST /api/v1/sales/unmatched/{id}/confirm/) makes them facts."""

    list_display = (
        "period_start",
        "distributor",
        "item_number",
        "sku",
        "description",
        "ship_to_number",
        "ship_to_name",
        "product",
        "customer",
        "cases",
    )
    list_filter = (
        related_filter("distributor"),
        related_filter("principal"),
        "period_kind",
        ("period_start", admin.DateFieldListFilter),
    )
    list_select_related = ("distributor", "product", "customer")
    search_fields = ("item_number", "sku", "description", "ship_to_number", "ship_to_name")
    fields = (
        ("distributor", "principal"),
        ("item_number", "sku", "description"),
        ("ship_to_number", "ship_to_name"),
        ("product", "customer"),
        ("period_kind", "period_start"),
        ("cases", "dollars", "currency"),
        "suggestions",
        ("source_import_id", "source_row", "created_at", "created_by"),
    )
    readonly_fields = ("principal", "source_import_id", "source_row", "created_at", "created_by")


@admin.register(CustomerAlias)
class CustomerAliasAdmin(_SharedAdmin):
    """What a distributor calls a customer (ship-to number or name); later files match by it."""

    list_display = ("value", "kind", "distributor", "customer", "created_at", "created_by")
    list_filter = (related_filter("distributor"), "kind")
    list_select_related = ("distributor", "customer", "created_by")
    search_fields = ("value", "customer__name")
    autocomplete_fields = ("distributor", "customer")
    fields = ("distributor", "kind", "value", "customer")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by_id = context_of(request).member_user_id
        super().save_model(request, obj, form, change)


@admin.register(ColumnMapping)
class ColumnMappingAdmin(_SharedAdmin):
    """A distributor's file layout: {"Header as written": "sales field" or null}, and its period kind."""

    list_display = ("distributor", "period_kind", "updated_at", "updated_by")
    list_filter = (related_filter("distributor"), "period_kind")
    list_select_related = ("distributor", "updated_by")
    search_fields = ("distributor__name",)
    autocomplete_fields = ("distributor",)
    fields = ("distributor", "period_kind", "mapping")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by_id = context_of(request).member_user_id
        super().save_model(request, obj, form, change)
