"""Every list and detail runs a fixed number of queries, whatever the page size and the expansions."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, RESOURCES, count_queries
from tests.conftest import client_for


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_list_query_count_does_not_grow_with_the_rows(firm, resource, role):
    client = client_for(getattr(firm, role))
    expanded = f"{resource.url}?expand={resource.expand}" if resource.expand else resource.url
    resource.make(firm, 3)
    few, few_expanded = count_queries(client, resource.url), count_queries(client, expanded)
    resource.make(firm, 27)
    many, many_expanded = count_queries(client, resource.url), count_queries(client, expanded)
    assert (many, many_expanded) == (few, few_expanded)
    # Expansions are joins in the same query, not extra queries.
    assert few_expanded == few


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_small_and_large_pages_run_the_same_queries(firm, admin, resource):
    resource.make(firm, 30)
    assert count_queries(admin, f"{resource.url}?page_size=3") == count_queries(
        admin, f"{resource.url}?page_size=30"
    )


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_detail_query_count_is_the_same_with_every_expansion(firm, admin, resource):
    row_id = resource.make(firm, 2)[0]
    plain = count_queries(admin, f"{resource.url}{row_id}/")
    if resource.expand:
        assert count_queries(admin, f"{resource.url}{row_id}/?expand={resource.expand}") == plain
    assert plain <= 6


def test_list_query_count_is_small(firm, admin):
    # Transaction, RLS context, the page itself: a handful, never one per row.
    for resource in RESOURCES:
        resource.make(firm, 3)
        assert count_queries(admin, resource.url) <= 6, resource.name


def test_me_query_count_does_not_grow_with_the_book(firm, manager):
    before = count_queries(manager, f"{API}/me/")
    for _ in range(10):
        f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.manager)
    assert count_queries(manager, f"{API}/me/") == before
