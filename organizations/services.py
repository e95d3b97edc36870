"""Writes on organizations that are more than a save."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import NotFound

from contacts.models import Contact
from crm.merges import MergePlan, record_merge
from crm.records import Conflict
from opportunities.models import CLOSED_STAGES, Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import Organization, OrganizationType


def organization_dependents(*, organization: Organization) -> list[QuerySet[Any]]:
    """What goes (and comes back) with an organization: its contacts and the opportunities it is part
    of, with their products and contacts. Children first, so every row still references live rows when
    it is soft-deleted, and its parents are live again when it is restored."""
    opportunities = Opportunity.objects.filter(
        Q(customer=organization) | Q(distributor=organization) | Q(principal=organization)
    )
    return [
        OpportunityProduct.objects.filter(opportunity__in=opportunities.values("pk")),
        OpportunityContact.objects.filter(opportunity__in=opportunities.values("pk")),
        opportunities,
        Contact.objects.filter(organization=organization),
    ]


def organization_blocking_dependents(*, organization: Organization) -> dict[str, int]:
    """Live contacts and open opportunities: deleting the organization without them is refused (409)."""
    open_opportunities = Opportunity.objects.filter(
        Q(customer=organization) | Q(distributor=organization) | Q(principal=organization),
        deleted_at__isnull=True,
    ).exclude(stage__in=CLOSED_STAGES)
    return {
        "contacts": Contact.objects.filter(organization=organization, deleted_at__isnull=True).count(),
        "open_opportunities": open_opportunities.count(),
    }


def organization_merge(*, survivor: Organization, merged_ids: Sequence[int]) -> MergePlan:
    """Merge the organizations `merged_ids` into `survivor` (locked by the caller), ADR 0029: only live ones
    the caller sees (any other id is a 404, as on a detail), of the survivor's type, never principals."""
    merged = list(
        Organization.objects.filter(pk__in=merged_ids, deleted_at__isnull=True)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if len(merged) != len(merged_ids):
        raise NotFound("No organization found with one of these ids.")
    if survivor.type == OrganizationType.PRINCIPAL:
        raise Conflict(
            "Principals are not merged: their books, products and scoped records would change hands.",
            code="merge_principal",
        )
    other_types = sorted({row.type for row in merged if row.type != survivor.type})
    if other_types:
        raise Conflict(
            f"Only organizations of one type merge: the survivor is a {survivor.type}, and some are "
            f"{', '.join(other_types)}.",
            code="merge_types_differ",
            records=[row.pk for row in merged if row.type != survivor.type],
        )
    return record_merge(survivor=survivor, merged=merged)
