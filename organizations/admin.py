"""Admin for organizations (principals, distributors, customers, prospects), and their links."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from contacts.admin import ContactInline
from crm.admin_base import CrmInline, CrmModelAdmin, limit_choices, mine_filter, related_filter
from crm.admin_merge import merge_action
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
    OrganizationType,
)
from organizations.services import organization_merge
from products.admin import ProductInline

CUSTOMER_TYPES = (OrganizationType.CUSTOMER, OrganizationType.PROSPECT)

limit_choices(DistributorAuthorization, "distributor", type=OrganizationType.DISTRIBUTOR)
limit_choices(DistributorAuthorization, "principal", type=OrganizationType.PRINCIPAL)
limit_choices(CustomerDistributor, "customer", type__in=CUSTOMER_TYPES)
limit_choices(CustomerDistributor, "distributor", type=OrganizationType.DISTRIBUTOR)


class AuthorizedDistributorInline(CrmInline):
    """On a principal's page: the distributors carrying its line."""

    model = DistributorAuthorization
    fk_name = "principal"
    fields = ("distributor", "authorized_on", "expires_on", "notes")
    autocomplete_fields = ("distributor",)
    list_select_related = ("distributor", "principal")  # both named by the row's label
    verbose_name = "authorized distributor"


class CarriedLineInline(CrmInline):
    """On a distributor's page: the principals' lines it carries."""

    model = DistributorAuthorization
    fk_name = "distributor"
    fields = ("principal", "authorized_on", "expires_on", "notes")
    autocomplete_fields = ("principal",)
    list_select_related = ("principal", "distributor")  # both named by the row's label
    verbose_name = "carried line"


class DeliveringDistributorInline(CrmInline):
    """On a customer's page: who delivers to it."""

    model = CustomerDistributor
    fk_name = "customer"
    fields = ("distributor", "is_primary")
    autocomplete_fields = ("distributor",)
    list_select_related = ("distributor", "customer")  # both named by the row's label
    verbose_name = "distributor"


_INLINES_BY_TYPE: dict[str, tuple[type[CrmInline], ...]] = {
    OrganizationType.PRINCIPAL: (ContactInline, ProductInline, AuthorizedDistributorInline),
    OrganizationType.DISTRIBUTOR: (ContactInline, CarriedLineInline),
    OrganizationType.CUSTOMER: (ContactInline, DeliveringDistributorInline),
    OrganizationType.PROSPECT: (ContactInline, DeliveringDistributorInline),
}


@admin.register(Organization)
class OrganizationAdmin(CrmModelAdmin):
    actions = (merge_action(organization_merge),)
    list_display = ("name", "type", "priority", "segment", "city", "state", "status", "account_manager")
    list_filter = ("type", "priority", "segment", "status", mine_filter("account_manager", "account manager"))
    list_select_related = ("account_manager",)
    search_fields = ("name", "email", "city")
    search_help_text = "Words or word beginnings of the name, email or city."
    autocomplete_fields = ("parent", "account_manager")
    fieldsets = (
        (None, {"fields": ("name", "type", "priority", "segment", "status", "parent", "account_manager")}),
        ("Reach", {"fields": ("phone", "email", "website")}),
        ("Address", {"fields": ("street", ("city", "state"), ("postal_code", "country"))}),
        ("Notes", {"fields": ("notes",)}),
    )

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> tuple[type[CrmInline], ...]:
        # Which links an organization has depends on its type; a new one gets contacts only.
        if obj is None:
            return (ContactInline,)
        return _INLINES_BY_TYPE.get(obj.type, (ContactInline,))


@admin.register(DistributorAuthorization)
class DistributorAuthorizationAdmin(CrmModelAdmin):
    list_display = ("principal", "distributor", "authorized_on", "expires_on")
    list_filter = (related_filter("principal"),)
    list_select_related = ("principal", "distributor")
    search_fields = ("distributor__name", "principal__name")
    autocomplete_fields = ("distributor", "principal")
    fields = ("principal", "distributor", "authorized_on", "expires_on", "notes")


@admin.register(CustomerDistributor)
class CustomerDistributorAdmin(CrmModelAdmin):
    list_display = ("customer", "distributor", "is_primary")
    list_filter = ("is_primary", related_filter("distributor"))
    list_select_related = ("customer", "distributor")
    search_fields = ("customer__name", "distributor__name")
    autocomplete_fields = ("customer", "distributor")
    fields = ("customer", "distributor", "is_primary")
