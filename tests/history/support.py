"""Helpers for the history suite: each audited resource's writes as a client sends them, and history
read back through the API, as raw SQL under a user's row level security, or as the owner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

from crm import rls
from crm.models import HistoryEntry, User
from tests import factories as f
from tests.api.support import API, ok
from tests.conftest import Firm


def history(client: APIClient, resource: str, pk: int, query: str = "") -> list[dict[str, Any]]:
    """The first page of a record's history through the API (newest first)."""
    return ok(client.get(f"{API}/{resource}/{pk}/history/{query}"))["results"]


def entries(table: str, pk: int) -> list[HistoryEntry]:
    """A row's history as the owner sees it (every entry, newest first)."""
    return list(HistoryEntry.objects.filter(table_name=table, row_id=pk).order_by("-id"))


def history_visible_in_sql(user: User, table: str, pk: int) -> int:
    """How many history entries of the row `user` can read with plain SQL as the runtime role."""
    with rls.acting_as(user.pk), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM history WHERE table_name = %s AND row_id = %s", [table, pk])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def etag(version: int) -> str:
    return f'"{version}"'


# ---------------------------------------------------------------------------------------------------
# Every audited resource: how a Sales Manager (book: principal_a) creates one, and one field to change.


@dataclass(frozen=True)
class Audited:
    name: str  # the URL segment
    table: str
    create: Callable[[Firm], dict[str, Any]]  # a POST body (may set up rows it points at, as the owner)
    change: tuple[str, Any]  # one field a PATCH sets, and its new value
    list_query: str = ""  # what the list needs to show the record (a closed sample: its status)

    @property
    def url(self) -> str:
        return f"{API}/{self.name}/"

    def __str__(self) -> str:
        return self.name


def column(field: str, value: Any) -> str:
    """The stored column behind a serializer field (foreign keys are stored as <name>_id)."""
    return f"{field}_id" if isinstance(value, int) and not isinstance(value, bool) else field


def _product(firm: Firm) -> Any:
    return f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)


def _opportunity(firm: Firm) -> Any:
    return f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)


def _opportunity_product(firm: Firm) -> dict[str, Any]:
    return {"opportunity": _opportunity(firm).pk, "product": _product(firm).pk}


def _opportunity_contact(firm: Firm) -> dict[str, Any]:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    return {"opportunity": _opportunity(firm).pk, "contact": contact.pk}


def _sample(firm: Firm) -> dict[str, Any]:
    interaction = f.SampleInteractionFactory(
        tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a
    )
    # Logged already cancelled, so that its feedback (why) is a field a PATCH changes alone: a status change
    # also dates its step. (Its lines are rows of their own: tests/api/test_samples.py.)
    return {"interaction": interaction.pk, "status": "cancelled"}


AUDITED = [
    Audited(
        "organizations",
        "organization",
        lambda firm: {"name": "Harbor Grill", "type": "customer", "city": "Austin"},
        ("notes", "Line review in May"),
    ),
    Audited(
        "contacts",
        "contact",
        lambda firm: {"organization": firm.customer.pk, "first_name": "Rosa", "email": "rosa@bistro.test"},
        ("title", "Executive chef"),
    ),
    Audited(
        "products",
        "product",
        lambda firm: {"principal": firm.principal_a.pk, "name": "Crinkle fries", "sku": "CF-1"},
        ("pack_size", "6/5 lb"),
    ),
    Audited(
        "opportunities",
        "opportunity",
        lambda firm: {
            "name": "Fries at the bistro",
            "principal": firm.principal_a.pk,
            "customer": firm.customer.pk,
        },
        ("next_action", "Bring samples"),
    ),
    Audited(
        "interactions",
        "interaction",
        lambda firm: {
            "type": "call",
            "subject": "Menu review",
            "organization": firm.customer.pk,
            "occurred_at": "2026-01-05T15:00:00Z",
        },
        ("outcome", "Wants a sample case"),
    ),
    Audited(
        "distributor-authorizations",
        "distributor_authorization",
        lambda firm: {"distributor": firm.distributor.pk, "principal": firm.principal_a.pk},
        ("notes", "Texas warehouses only"),
    ),
    Audited(
        "customer-distributors",
        "customer_distributor",
        lambda firm: {"customer": firm.customer.pk, "distributor": firm.distributor.pk},
        ("is_primary", True),
    ),
    Audited(
        "product-distributors",
        "product_distributor",
        lambda firm: {
            "product": _product(firm).pk,
            "distributor": firm.distributor.pk,
            "vendor_item_number": "V-1",
        },
        ("vendor_item_number", "V-2"),
    ),
    Audited("opportunity-products", "opportunity_product", _opportunity_product, ("notes", "Lead item")),
    Audited("opportunity-contacts", "opportunity_contact", _opportunity_contact, ("role", "buyer")),
    Audited(
        "samples", "sample", _sample, ("feedback", "The chef left before the tasting."), "&status=cancelled"
    ),
]
