"""Writes on contacts that are more than a save."""

from __future__ import annotations

from collections.abc import Sequence

from rest_framework.exceptions import NotFound

from contacts.models import Contact
from crm.merges import MergePlan, record_merge
from crm.records import Conflict


def contact_merge(*, survivor: Contact, merged_ids: Sequence[int]) -> MergePlan:
    """Merge the contacts `merged_ids` into `survivor` (locked by the caller), ADR 0029: only live ones the
    caller sees (any other id is a 404), of the survivor's organization (contacts of two organizations
    that are duplicates merge with their organizations: same-email contacts are merged then)."""
    merged = list(
        Contact.objects.filter(pk__in=merged_ids, deleted_at__isnull=True)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if len(merged) != len(merged_ids):
        raise NotFound("No contact found with one of these ids.")
    elsewhere = [row.pk for row in merged if row.organization_id != survivor.organization_id]
    if elsewhere:
        raise Conflict(
            "Only contacts of one organization merge; if their organizations are duplicates, merge those "
            "(contacts with the same email are merged with them).",
            code="merge_organizations_differ",
            records=elsewhere,
        )
    return record_merge(survivor=survivor, merged=merged)
