"""Admin for distributors' sales (ADR 0034): the facts to read, as imports wrote them; the kept (unmatched)
rows to read and to confirm (choose the customer or the product a writer recognises: the same service as the
API's confirm learns it and turns the complete rows into facts); the customer aliases and the saved column
mappings to correct by hand."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ValidationError

from crm.admin_base import CrmModelAdmin, CrmModelForm, limit_choices, related_filter
from crm.rls import context_of
from organizations.models import OrganizationType
from sales import services
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


class ConfirmForm(CrmModelForm):
    """The product and customer a writer chooses for a kept row: only those the import did not recognise
    are offered (the others are read-only), and at least one must be chosen."""

    HELP = {
        "customer": "The account this ship-to is (see the suggestions): learned as the distributor's name for"
        " it, and every kept row of the distributor with the same ship-to gets it.",
        "product": "The product this item is: learned as the distributor's item number for it (when the row"
        " has one), and every kept row of the distributor with the same item gets it.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, text in self.HELP.items():
            if name in self.fields:
                self.fields[name].help_text = text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [name for name in ("product", "customer") if name in self.fields and cleaned.get(name)]
        if not chosen and not self.errors:
            raise forms.ValidationError("Choose the customer, the product, or both.")
        return cleaned

    def _post_clean(self) -> None:
        """The row is not saved as a model: confirming writes it (sales.services.unmatched_confirm)."""


@admin.register(SalesUnmatched)
class SalesUnmatchedAdmin(_ImportedAdmin):
    """Rows of sales files whose product or customer was not recognised, with the file's own values and
    the import's suggestions. A writer confirms one by choosing what was missing: the alias (ship-to number,
    else name) or the distributor's item number is learned, every kept row of the distributor with the same
    raw value gets it, and the rows that then have both become facts (as the API's
    POST /api/v1/sales/unmatched/{id}/confirm/)."""

    form = ConfirmForm
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
    autocomplete_fields = ("product", "customer")
    fields = (
        ("distributor", "principal"),
        ("item_number", "sku", "description"),
        ("ship_to_number", "ship_to_name"),
        ("product", "customer"),
        ("period_kind", "period_start"),
        ("cases", "dollars", "currency"),
        "suggested",
        ("source_import_id", "source_row", "created_at", "created_by"),
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_write(request)  # to confirm: nothing else of the row changes

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        shown = [name for row in self.fields for name in (row if isinstance(row, tuple) else (row,))]
        readonly = [name for name in shown if name not in ("product", "customer")]
        if obj is None or not self.has_change_permission(request, obj):
            return [*readonly, "product", "customer"]
        # What the import recognised stays as it is (a confirm never changes it).
        return readonly + [name for name in ("product", "customer") if getattr(obj, f"{name}_id") is not None]

    @admin.display(description="Suggestions")
    def suggested(self, obj: SalesUnmatched) -> str:
        found = obj.suggestions or {}
        lines = []
        for key, label in (("products", "Products"), ("customers", "Customers")):
            named = [f"{item['name']} (#{item['id']}, {item['score']})" for item in found.get(key) or []]
            if named:
                lines.append(f"{label}: " + "; ".join(named))
        return " · ".join(lines) or "–"

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A confirmed row usually becomes a fact and leaves this table: the page cannot be shown again.
        extra = {"show_save_and_continue": False, "show_save_and_add_another": False, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        product = form.cleaned_data.get("product") if "product" in form.fields else None
        customer = form.cleaned_data.get("customer") if "customer" in form.fields else None
        original = SalesUnmatched.objects.get(pk=obj.pk)
        try:
            confirmed = services.unmatched_confirm(
                context=context_of(request),
                unmatched=original,
                customer_id=customer.pk if customer is not None else None,
                product_id=product.pk if product is not None else None,
            )
        except ValidationError as refused:  # the product or customer went out of reach meanwhile
            self.message_user(request, f"Not confirmed: {refused.detail}", messages.ERROR)
            return
        learned = []
        if confirmed.alias is not None:
            learned.append(f"the alias “{confirmed.alias.value}” for {confirmed.alias.customer}")
        if confirmed.item is not None:
            learned.append(f"item number {confirmed.item.vendor_item_number} for {confirmed.item.product}")
        self.message_user(
            request,
            f"Confirmed: {confirmed.rows_matched} kept row(s) of this distributor matched,"
            f" {len(confirmed.facts)} fact(s) written"
            + (f"; learned {' and '.join(learned)}." if learned else "."),
            messages.SUCCESS,
        )

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        return self.response_post_save_change(request, obj)  # the confirm's own message, not "changed"

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the row may be gone (now a fact); the alias and item number carry who and when


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
