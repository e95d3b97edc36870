"""List filters for contacts."""

from __future__ import annotations

import django_filters

from contacts.models import Contact, ContactRole
from crm.api.filtering import StrictBooleanFilter, TenantFilterSet, id_filter


class ContactFilter(TenantFilterSet):
    organization = id_filter("organization_id")
    role = django_filters.MultipleChoiceFilter(choices=ContactRole.choices)
    is_primary = StrictBooleanFilter()
    reports_to = id_filter("reports_to_id")
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Contact
        fields: list[str] = []
