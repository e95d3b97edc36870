"""Counting stops at a cap: long lists say "more than N" instead of paying a full COUNT(*)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.admin_base import CappedCountPaginator
from products.models import Product
from tests import factories as f
from tests.admin.support import signed_in, url
from tests.conftest import Firm


def test_count_is_exact_below_the_cap(firm: Firm) -> None:
    f.ProductFactory.create_batch(3, tenant=firm.tenant, principal=firm.principal_a)
    response = signed_in(firm.manager).get(url(Product))
    assert response.context["cl"].result_count == 3
    assert "3 products" in response.content.decode()


def test_count_stops_past_the_cap(firm: Firm, monkeypatch: Any) -> None:
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 4)
    monkeypatch.setattr("products.admin.ProductAdmin.list_per_page", 2)
    f.ProductFactory.create_batch(7, tenant=firm.tenant, principal=firm.principal_a)
    client = signed_in(firm.manager)
    response = client.get(url(Product))
    cl = response.context["cl"]
    assert cl.paginator.count_is_capped and cl.result_count == 5
    page = response.content.decode()
    assert "More than 4 products" in page
    assert "Select all matching products" in page
    assert client.get(url(Product) + "?p=3").status_code == 200


def test_count_query_is_limited(firm: Firm) -> None:
    client = signed_in(firm.manager)
    client.get(url(Product))
    with CaptureQueriesContext(connection) as queries:
        client.get(url(Product))
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all(f"LIMIT {CappedCountPaginator.count_cap + 1}" in sql for sql in counts), counts
