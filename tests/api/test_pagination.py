"""Cursor pagination: every page walk sees each row exactly once, forwards and backwards, in any ordering."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from tests import factories as f
from tests.api.support import API, RESOURCES, ok, walk, walk_backwards


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_walking_pages_of_three_sees_every_row_once_on_every_list(firm, admin, resource):
    resource.make(firm, 7)
    everything = [row["id"] for row in ok(admin.get(f"{resource.url}?page_size=200"))["results"]]
    ids, pages = walk(admin, f"{resource.url}?page_size=3")
    assert ids == everything
    assert len(ids) == len(set(ids))
    assert [len(p["results"]) for p in pages[:-1]] == [3] * (len(pages) - 1)
    assert pages[0]["previous"] is None and pages[-1]["next"] is None


def test_next_and_previous_links_move_between_pages(firm, manager):
    # The firm's own customer, "Acme Bistro", sorts before the diners: eight rows, pages of 3, 3 and 2.
    made = [firm.customer.pk] + [
        f.CustomerFactory(tenant=firm.tenant, name=f"Diner {i:02d}").pk for i in range(7)
    ]
    first = ok(manager.get(f"{API}/organizations/?type=customer&page_size=3"))
    assert [r["id"] for r in first["results"]] == made[:3]
    assert first["previous"] is None
    query = parse_qs(urlparse(first["next"]).query)
    assert query["page_size"] == ["3"] and query["type"] == ["customer"] and "cursor" in query

    second = ok(manager.get(first["next"]))
    assert [r["id"] for r in second["results"]] == made[3:6]
    back = ok(manager.get(second["previous"]))
    assert [r["id"] for r in back["results"]] == made[:3]

    third = ok(manager.get(second["next"]))
    assert [r["id"] for r in third["results"]] == made[6:]
    assert third["next"] is None
    assert [r["id"] for r in ok(manager.get(third["previous"]))["results"]] == made[3:6]


def test_walking_backwards_on_a_unique_ordering_sees_the_same_rows_in_the_same_order(firm, manager):
    for i in range(7):
        f.CustomerFactory(tenant=firm.tenant, name=f"Diner {i:02d}")
    url = f"{API}/organizations/?page_size=3"
    forward, _ = walk(manager, url)
    assert walk_backwards(manager, url) == forward


@pytest.mark.parametrize(
    "ordering",
    ["name", "-name", "stage", "-weekly_case_volume", "weighted_weekly_volume,-name", "created_at"],
)
def test_forward_walk_with_many_ties_in_the_ordering_has_no_duplicates_or_gaps(firm, manager, ordering):
    # Rows made in one transaction share created_at/updated_at, and the stages and volumes repeat too.
    made = {
        f.OpportunityFactory(
            tenant=firm.tenant,
            principal=firm.principal_a,
            customer=firm.customer,
            name=f"Placement {i % 3}",
            stage=["new_lead", "initial_outreach"][i % 2],
            weekly_case_volume=Decimal(i % 2 * 10),
        ).pk
        for i in range(8)
    }
    ids, _ = walk(manager, f"{API}/opportunities/?page_size=3&ordering={ordering}")
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_default_opportunity_ordering_walks_rows_with_identical_timestamps(firm, manager):
    made = {
        f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer).pk
        for _ in range(7)
    }
    ids, pages = walk(manager, f"{API}/opportunities/?page_size=2")
    assert len(ids) == 7 and set(ids) == made and len(pages) == 4


def test_filters_and_search_survive_in_the_next_link(firm, manager):
    for i in range(5):
        f.CustomerFactory(tenant=firm.tenant, name=f"Harbor Grill {i}", priority="A")
        f.CustomerFactory(tenant=firm.tenant, name=f"Harbor Cafe {i}", priority="B")
    ids, pages = walk(manager, f"{API}/organizations/?page_size=2&search=harbor&priority=A")
    names = [row["name"] for page in pages for row in page["results"]]
    assert len(ids) == 5 and all(name.startswith("Harbor Grill") for name in names)


def test_a_row_added_between_pages_does_not_shift_the_walk(firm, manager):
    for i in range(6):
        f.CustomerFactory(tenant=firm.tenant, name=f"Diner {i}")
    first = ok(manager.get(f"{API}/organizations/?type=customer&page_size=3"))
    f.CustomerFactory(tenant=firm.tenant, name="AAA Early Bird")  # sorts before the cursor
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = ok(manager.get(page["next"]))
        seen.extend(r["id"] for r in page["results"])
    assert len(seen) == len(set(seen)) == 7


def test_default_page_size_is_fifty(firm, manager):
    for _ in range(55):
        f.CustomerFactory(tenant=firm.tenant)
    first = ok(manager.get(f"{API}/organizations/"))
    assert len(first["results"]) == 50 and first["next"]


def test_a_managers_page_merged_over_the_book_walks_the_same_rows_as_the_policy_shows(firm, manager, admin):
    # Interactions are listed per principal of the book plus the shared ones (crm.api.pagination):
    # the walk must see exactly the rows RLS shows the manager, newest first, with ties on occurred_at.
    second = f.PrincipalFactory(tenant=firm.tenant, name="Second Line Foods")
    f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.manager, principal=second)
    at = "2026-03-01T10:00:00Z"
    for i in range(4):
        for principal in (firm.principal_a, second, firm.principal_b, None):
            f.InteractionFactory(
                tenant=firm.tenant,
                organization=firm.customer,
                principal=principal,
                occurred_at=at,
                subject=f"Call {i}",
            )
    everything = ok(admin.get(f"{API}/interactions/?page_size=200"))["results"]
    hidden = firm.principal_b.pk
    expected = [row["id"] for row in everything if row["principal"] != hidden]
    ids, pages = walk(manager, f"{API}/interactions/?page_size=5")
    assert ids == expected and len(ids) == 12 and len(pages) == 3
    assert walk_backwards(manager, f"{API}/interactions/?page_size=5") == expected
