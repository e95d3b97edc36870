"""Writes on organizations that are more than a save."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from contacts.models import Contact
from opportunities.models import CLOSED_STAGES, Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import Organization


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
