"""History is shown exactly to who sees the record: the same row level security decides, so a user who
cannot see a row gets 404 for its history and finds none of its entries by any other way."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm import rls
from crm.models import User
from tests import factories as f
from tests.api.support import API, RESOURCES, Resource, assert_problem, ok
from tests.conftest import Firm, client_for
from tests.history.support import history, history_visible_in_sql

TABLES = {
    "products": "product",
    "opportunities": "opportunity",
    "interactions": "interaction",
    "distributor-authorizations": "distributor_authorization",
    "product-distributors": "product_distributor",
    "opportunity-products": "opportunity_product",
    "opportunity-contacts": "opportunity_contact",
    "samples": "sample",
}
# Rows of principal_a: in the manager's and the viewer's book, outside the other manager's.
PRINCIPAL_A_ROWS = [r for r in RESOURCES if r.name in TABLES]


@pytest.mark.parametrize("resource", PRINCIPAL_A_ROWS, ids=str)
def test_history_of_a_row_outside_the_book_is_404_and_absent_from_sql(firm: Firm, resource: Resource) -> None:
    pk = resource.make(firm, 1)[0]
    table = TABLES[resource.name]

    assert history(client_for(firm.manager), resource.name, pk)  # in the book: shown
    assert history_visible_in_sql(firm.manager, table, pk) >= 1
    assert_problem(client_for(firm.other_manager).get(f"{resource.url}{pk}/history/"), 404)
    assert history_visible_in_sql(firm.other_manager, table, pk) == 0


@pytest.mark.parametrize("resource", PRINCIPAL_A_ROWS, ids=str)
def test_history_of_another_firms_row_is_404_and_absent_from_sql(
    firm: Firm, other_firm: Firm, resource: Resource
) -> None:
    pk = resource.make(firm, 1)[0]

    assert_problem(client_for(other_firm.admin).get(f"{resource.url}{pk}/history/"), 404)
    assert history_visible_in_sql(other_firm.admin, TABLES[resource.name], pk) == 0


def test_viewer_gets_no_history_of_shared_contacts_or_interactions(firm: Firm, viewer: APIClient) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, contact=contact)
    ok(client_for(firm.manager).patch(f"{API}/contacts/{contact.pk}/", {"title": "Chef"}))

    for resource, table, pk in (
        ("contacts", "contact", contact.pk),
        ("interactions", "interaction", interaction.pk),
    ):
        assert_problem(viewer.get(f"{API}/{resource}/{pk}/history/"), 404)
        assert history_visible_in_sql(firm.viewer, table, pk) == 0
        assert history_visible_in_sql(firm.manager, table, pk) >= 1


def test_viewer_reads_history_of_their_books_contacts_and_of_shared_organizations(
    firm: Firm, viewer: APIClient
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)
    ok(client_for(firm.admin).patch(f"{API}/contacts/{contact.pk}/", {"title": "Broker liaison"}))
    ok(client_for(firm.manager).patch(f"{API}/organizations/{firm.customer.pk}/", {"notes": "Patio opens"}))

    assert history(viewer, "contacts", contact.pk)[0]["changes"] == {"title": ["", "Broker liaison"]}
    assert history(viewer, "organizations", firm.customer.pk)[0]["changes"] == {"notes": ["", "Patio opens"]}


def test_history_of_a_deleted_row_stays_with_those_who_saw_it(firm: Firm, manager: APIClient) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    assert manager.delete(f"{API}/opportunities/{opportunity.pk}/").status_code == 204

    assert [e["operation"] for e in history(manager, "opportunities", opportunity.pk)] == ["delete", "insert"]
    assert_problem(client_for(firm.other_manager).get(f"{API}/opportunities/{opportunity.pk}/history/"), 404)


@pytest.mark.parametrize("member", ["admin", "manager", "other_manager", "viewer"])
def test_sql_reads_of_history_return_only_entries_of_rows_the_user_can_read(
    firm: Firm, other_firm: Firm, member: str
) -> None:
    """Over the whole table, not per row: every entry a member reads describes a row they can read."""
    f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer)
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    user: User = getattr(firm, member)

    with rls.acting_as(user.pk), connection.cursor() as cursor:
        mismatches = []
        for table in ("organization", "contact", "opportunity", "interaction", "product"):
            cursor.execute(
                f"SELECT h.row_id FROM history h WHERE h.table_name = %s"
                f" AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.id = h.row_id)",
                [table],
            )
            mismatches += [(table, row_id) for (row_id,) in cursor.fetchall()]
            cursor.execute(
                f"SELECT r.id FROM {table} r WHERE NOT EXISTS"
                f" (SELECT 1 FROM history h WHERE h.table_name = %s AND h.row_id = r.id)",
                [table],
            )
            mismatches += [(table, -row_id) for (row_id,) in cursor.fetchall()]

    assert mismatches == []
