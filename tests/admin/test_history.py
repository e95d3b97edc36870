"""The admin's History page shows the database's history (edits, stage changes, cascades, restores, made
through the API or the admin), with names instead of ids, under row level security."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.models import HistoryEntry
from opportunities.models import Opportunity
from organizations.models import Organization
from tests import factories as f
from tests.admin.support import count_queries, signed_in, submit, url
from tests.api.support import API, ok
from tests.conftest import Firm, client_for


def _history(path_of: str) -> str:
    return f"{path_of}history/"


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="history-entry history-(\w+)">', html)


@pytest.fixture
def worked_deal(firm: Firm) -> tuple[Opportunity, Any]:
    """An opportunity a manager edited, moved, closed, deleted (with its product) and restored."""
    product = f.ProductFactory(
        tenant=firm.tenant, principal=firm.principal_a, name="Crinkle fries", sku="CF-9"
    )
    manager: APIClient = client_for(firm.manager)
    deal = ok(
        manager.post(
            f"{API}/opportunities/",
            {"name": "Fries at the Bistro", "principal": firm.principal_a.pk, "customer": firm.customer.pk},
        ),
        201,
    )
    detail = f"{API}/opportunities/{deal['id']}/"
    ok(manager.patch(detail, {"priority": "high", "weekly_case_volume": "12.50", "owner": firm.manager.pk}))
    ok(manager.post(f"{detail}change-stage/", {"stage": "sample_visit_offered"}))
    ok(manager.post(f"{API}/opportunity-products/", {"opportunity": deal["id"], "product": product.pk}), 201)
    assert manager.delete(f"{detail}?cascade=true").status_code == 204
    ok(manager.post(f"{detail}restore/"))
    return Opportunity.objects.get(pk=deal["id"]), product


def test_history_page_shows_the_databases_entries_newest_first_with_names(
    firm: Firm, worked_deal: tuple[Opportunity, Any]
) -> None:
    deal, _product = worked_deal
    response = signed_in(firm.manager).get(url(Opportunity, "history", deal.pk))
    assert response.status_code == 200
    html = response.content.decode()
    # restore (product, then the deal), delete (the deal, then its product: children first), the
    # product added, the stage change, the edit, the insert.
    assert _rows(html) == ["restore", "restore", "delete", "delete", "insert", "update", "update", "insert"]
    assert "doesn’t have a change history" not in html
    manager_name = firm.manager.get_full_name() or firm.manager.email
    assert manager_name in html
    # Verbose names and labels, not columns and stored values.
    assert "Stage" in html and "New lead" in html and "Sample / visit offered" in html
    assert "sample_visit_offered" not in html
    assert "Priority" in html and "High" in html
    # A foreign key as the related row's name, not its id.
    assert "Owner" in html and f"#{firm.manager.pk}" not in html
    # The cascade: the product deleted and restored with the deal, labelled by names.
    assert "Opportunity product: Crinkle fries (CF-9) in Fries at the Bistro" in html
    # Every entry's request id.
    request_ids = set(
        HistoryEntry.objects.filter(table_name="opportunity", row_id=deal.pk).values_list(
            "request_id", flat=True
        )
    )
    assert request_ids and all(rid and rid in html for rid in request_ids)


def test_history_page_shows_admin_edits_and_keeps_the_history_button(firm: Firm, sample: Any) -> None:
    client = signed_in(firm.manager)
    change = url(Opportunity, "change", sample.opportunity.pk)
    assert 'class="historylink"' in client.get(change).content.decode()
    response = submit(client, change, Opportunity, name="Renamed in the admin", stage="initial_outreach")
    assert response.status_code == 302, response.content.decode()[:2000]
    html = client.get(url(Opportunity, "history", sample.opportunity.pk)).content.decode()
    assert _rows(html)[0] == "update"
    assert "Renamed in the admin" in html and "Initial outreach" in html


def test_history_of_a_row_outside_the_book_is_404(firm: Firm, worked_deal: tuple[Opportunity, Any]) -> None:
    deal, _product = worked_deal
    response = signed_in(firm.other_manager).get(url(Opportunity, "history", deal.pk))
    assert response.status_code == 404
    assert b"Fries at the Bistro" not in response.content


def test_history_of_another_firms_row_is_404(firm: Firm, other_firm: Firm) -> None:
    deal = f.OpportunityFactory(
        tenant=other_firm.tenant, principal=other_firm.principal_a, customer=other_firm.customer
    )
    assert signed_in(firm.admin).get(url(Opportunity, "history", deal.pk)).status_code == 404


def test_viewer_reads_the_history_of_what_they_see(firm: Firm, worked_deal: tuple[Opportunity, Any]) -> None:
    deal, _product = worked_deal
    response = signed_in(firm.viewer).get(url(Opportunity, "history", deal.pk))
    assert response.status_code == 200 and len(_rows(response.content.decode())) == 8


def test_history_page_is_paginated(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    client = client_for(firm.manager)
    for n in range(55):
        ok(client.patch(f"{API}/contacts/{contact.pk}/", {"title": f"Title {n}"}))
    admin = signed_in(firm.manager)
    first = admin.get(url(type(contact), "history", contact.pk)).content.decode()
    second = admin.get(url(type(contact), "history", contact.pk) + "?p=2").content.decode()
    assert len(_rows(first)) == 50 and len(_rows(second)) == 6
    assert "Title 54" in first and "Title 0" in second
    assert "56 entries" in first


def test_history_page_queries_do_not_grow_with_entries(firm: Firm) -> None:
    deal = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    api = client_for(firm.manager)

    def work(n: int) -> None:
        for i in range(n):
            customer = f.CustomerFactory(tenant=firm.tenant)
            product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
            ok(api.patch(f"{API}/opportunities/{deal.pk}/", {"customer": customer.pk, "name": f"Deal {i}"}))
            ok(api.post(f"{API}/opportunity-products/", {"opportunity": deal.pk, "product": product.pk}), 201)

    client = signed_in(firm.manager)
    path = url(Opportunity, "history", deal.pk)
    work(2)
    few = count_queries(client, path)
    work(10)
    assert count_queries(client, path) == few
    assert few <= 14, few


def test_models_without_history_keep_djangos_page(firm: Firm) -> None:
    response = signed_in(firm.admin).get(url(type(firm.admin), "history", firm.admin.pk))
    assert response.status_code == 200


def test_organization_history_covers_its_links(firm: Firm) -> None:
    api = client_for(firm.admin)
    ok(
        api.post(
            f"{API}/customer-distributors/",
            {"customer": firm.customer.pk, "distributor": firm.distributor.pk, "is_primary": True},
        ),
        201,
    )
    html = signed_in(firm.admin).get(url(Organization, "history", firm.customer.pk)).content.decode()
    assert f"{firm.distributor.name} serves {firm.customer.name}" in html
    assert "Is primary" in html and "Yes" in html
