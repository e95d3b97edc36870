"""GET /organizations/<id>/timeline/: interactions, stage changes and contacts and opportunities added,
newest first, paged by cursor without gaps or duplicates, at a fixed query count, under the reader's
row level security."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import HistoryEntry
from tests import factories as f
from tests.api.support import API, assert_problem, count_queries, ok
from tests.conftest import Firm, client_for

Event = tuple[str, int]  # (kind, id)


def timeline_url(organization_id: int, query: str = "") -> str:
    return f"{API}/organizations/{organization_id}/timeline/{query}"


def events(client: APIClient, organization_id: int) -> list[Event]:
    page = ok(client.get(timeline_url(organization_id, "?page_size=200")))
    assert page["next"] is None
    return [(e["kind"], e["id"]) for e in page["results"]]


def walk_timeline(client: APIClient, url: str) -> tuple[list[Event], list[dict[str, Any]]]:
    found: list[Event] = []
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = ok(client.get(next_url))
        pages.append(page)
        found += [(e["kind"], e["id"]) for e in page["results"]]
        next_url = page["next"]
        assert len(pages) < 100, "the timeline does not end"
    return found, pages


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@dataclass
class Scene:
    """At the firm's customer: a shared contact, one opportunity per principal (each moved one stage by
    the admin) and interactions: shared, on principal_a's opportunity, on principal_b's."""

    contact: int
    opportunity_a: int
    opportunity_b: int
    stage_change_a: int
    stage_change_b: int
    shared_interaction: int
    interaction_a: int
    interaction_b: int


def _stage_change(firm: Firm, opportunity_id: int) -> int:
    ok(
        client_for(firm.admin).post(
            f"{API}/opportunities/{opportunity_id}/change-stage/", {"stage": "initial_outreach"}
        )
    )
    return int(HistoryEntry.objects.filter(table_name="opportunity", row_id=opportunity_id).latest("id").pk)


@pytest.fixture
def scene(firm: Firm) -> Scene:
    tenant, customer = firm.tenant, firm.customer
    contact = f.ContactFactory(tenant=tenant, organization=customer)
    opportunity_a = f.OpportunityFactory(tenant=tenant, principal=firm.principal_a, customer=customer)
    opportunity_b = f.OpportunityFactory(tenant=tenant, principal=firm.principal_b, customer=customer)
    return Scene(
        contact=contact.pk,
        opportunity_a=opportunity_a.pk,
        opportunity_b=opportunity_b.pk,
        stage_change_a=_stage_change(firm, opportunity_a.pk),
        stage_change_b=_stage_change(firm, opportunity_b.pk),
        shared_interaction=f.InteractionFactory(
            tenant=tenant, organization=customer, contact=contact, occurred_at=days_ago(1)
        ).pk,
        interaction_a=f.InteractionFactory(
            tenant=tenant, organization=customer, opportunity=opportunity_a, occurred_at=days_ago(2)
        ).pk,
        interaction_b=f.InteractionFactory(
            tenant=tenant, organization=customer, opportunity=opportunity_b, occurred_at=days_ago(3)
        ).pk,
    )


def test_timeline_merges_every_kind_newest_first(firm: Firm, scene: Scene, admin: APIClient) -> None:
    page = ok(admin.get(timeline_url(firm.customer.pk)))

    # Rows written in the test's one transaction share its time: ties are ordered by kind, then id.
    assert [(e["kind"], e["id"]) for e in page["results"]] == [
        ("stage_change", scene.stage_change_b),
        ("stage_change", scene.stage_change_a),
        ("opportunity_added", scene.opportunity_b),
        ("opportunity_added", scene.opportunity_a),
        ("contact_added", scene.contact),
        ("interaction", scene.shared_interaction),
        ("interaction", scene.interaction_a),
        ("interaction", scene.interaction_b),
    ]
    ats = [dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in page["results"]]
    assert ats == sorted(ats, reverse=True)
    stage_change = page["results"][1]
    assert stage_change["actor"] == firm.admin.pk
    assert stage_change["detail"] == {
        "opportunity": scene.opportunity_a,
        "from": "new_lead",
        "to": "initial_outreach",
    }


def test_manager_timeline_leaves_out_the_opportunity_of_a_principal_outside_the_book(
    firm: Firm, scene: Scene, manager: APIClient
) -> None:
    assert events(manager, firm.customer.pk) == [
        ("stage_change", scene.stage_change_a),
        ("opportunity_added", scene.opportunity_a),
        ("contact_added", scene.contact),
        ("interaction", scene.shared_interaction),
        ("interaction", scene.interaction_a),
    ]
    assert events(client_for(firm.other_manager), firm.customer.pk) == [
        ("stage_change", scene.stage_change_b),
        ("opportunity_added", scene.opportunity_b),
        ("contact_added", scene.contact),
        ("interaction", scene.shared_interaction),
        ("interaction", scene.interaction_b),
    ]


def test_viewer_timeline_leaves_out_shared_contacts_and_interactions(
    firm: Firm, scene: Scene, viewer: APIClient
) -> None:
    assert events(viewer, firm.customer.pk) == [
        ("stage_change", scene.stage_change_a),
        ("opportunity_added", scene.opportunity_a),
        ("interaction", scene.interaction_a),
    ]


def test_timeline_of_another_firm_or_of_a_principal_outside_the_book_is_404(
    firm: Firm, other_firm: Firm, scene: Scene
) -> None:
    assert_problem(client_for(other_firm.admin).get(timeline_url(firm.customer.pk)), 404)
    assert_problem(client_for(firm.other_manager).get(timeline_url(firm.principal_a.pk)), 404)


def test_timeline_leaves_out_deleted_contacts_and_opportunities(
    firm: Firm, scene: Scene, admin: APIClient
) -> None:
    assert admin.delete(f"{API}/contacts/{scene.contact}/").status_code == 204
    assert admin.delete(f"{API}/opportunities/{scene.opportunity_b}/").status_code == 204

    kinds = events(admin, firm.customer.pk)
    assert ("contact_added", scene.contact) not in kinds
    assert ("opportunity_added", scene.opportunity_b) not in kinds
    assert ("stage_change", scene.stage_change_b) not in kinds
    assert ("opportunity_added", scene.opportunity_a) in kinds


def test_timeline_of_a_principal_shows_its_opportunities_and_the_interactions_logged_at_it(
    firm: Firm, scene: Scene, manager: APIClient
) -> None:
    at_principal = f.InteractionFactory(
        tenant=firm.tenant, organization=firm.principal_a, occurred_at=days_ago(1)
    )

    # Interactions at the customer about principal_a's opportunity belong to the customer's timeline.
    assert events(manager, firm.principal_a.pk) == [
        ("stage_change", scene.stage_change_a),
        ("opportunity_added", scene.opportunity_a),
        ("interaction", at_principal.pk),
    ]


def _busy_customer(firm: Firm, interactions: int) -> None:
    """Many events at the customer, many of them at the same instant (ties on time, and on time and kind)."""
    same_time = days_ago(4)
    for n in range(interactions):
        f.InteractionFactory(
            tenant=firm.tenant,
            organization=firm.customer,
            occurred_at=same_time if n % 2 else days_ago(n + 5),
        )
    for _ in range(4):
        f.ContactFactory(tenant=firm.tenant, organization=firm.customer)


@pytest.mark.parametrize("page_size", [1, 2, 5])
def test_timeline_pages_without_gaps_or_duplicates(
    firm: Firm, scene: Scene, admin: APIClient, page_size: int
) -> None:
    _busy_customer(firm, 9)
    everything = events(admin, firm.customer.pk)

    walked, pages = walk_timeline(admin, timeline_url(firm.customer.pk, f"?page_size={page_size}"))

    assert walked == everything
    assert len(set(walked)) == len(walked) == 8 + 9 + 4
    assert all(len(p["results"]) == page_size for p in pages[:-1])


def test_timeline_query_count_is_the_same_for_every_page_and_any_amount_of_events(
    firm: Firm, scene: Scene, admin: APIClient
) -> None:
    first = timeline_url(firm.customer.pk, "?page_size=3")
    few = count_queries(admin, first)
    _busy_customer(firm, 30)
    many = count_queries(admin, first)
    second = ok(admin.get(first))["next"]

    assert many == few
    assert count_queries(admin, second) == few
    assert few <= 6


def test_timeline_rejects_a_forged_cursor(firm: Firm, admin: APIClient) -> None:
    assert_problem(admin.get(timeline_url(firm.customer.pk, "?cursor=not-a-cursor")), 400, field="cursor")
