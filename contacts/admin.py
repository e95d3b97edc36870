"""Admin for contacts: the people at organizations, and the inline listing them on an organization."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from contacts.models import Contact
from contacts.services import contact_merge
from crm.admin_base import CrmInline, CrmModelAdmin
from crm.admin_merge import merge_action


@admin.register(Contact)
class ContactAdmin(CrmModelAdmin):
    actions = (merge_action(contact_merge),)
    list_display = ("name", "title", "organization", "role", "email", "phone", "mobile", "is_primary")
    list_filter = ("role", "is_primary", "organization__type")
    list_select_related = ("organization",)
    search_fields = ("first_name", "last_name", "email", "title")
    search_help_text = "Words or word beginnings of the name, email or title."
    autocomplete_fields = ("organization", "reports_to")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "organization",
                    ("first_name", "last_name"),
                    "title",
                    "role",
                    "is_primary",
                    "reports_to",
                )
            },
        ),
        ("Reach", {"fields": ("email", "phone", "mobile")}),
        ("Notes", {"fields": ("notes",)}),
    )

    @admin.display(description="name", ordering="last_name")
    def name(self, obj: Contact) -> str:
        return str(obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # A contact never moves to another organization (the database refuses it): a new contact does.
        return [*readonly, "organization"] if obj is not None else readonly


class ContactInline(CrmInline):
    """The people at an organization, on the organization's page."""

    model = Contact
    fk_name = "organization"
    fields = ("first_name", "last_name", "title", "role", "email", "phone", "is_primary")
