"""A read's SQL compiled once per request shape (crm.api.shapes, crm.api.reads): reused with each request's
values, it answers byte for byte what the query built from the request answers, and a value or filter that
could change the SQL is never put in a slot."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from crm.api import reads, shapes
from crm.api.shapes import ShapeCache, slot_kind
from crm.api.viewsets import TenantModelViewSet
from organizations.models import Organization
from tests import factories as f
from tests.api.support import API, ok, walk, walk_backwards
from tests.api.test_fast_read import awkward_rows  # noqa: F401 (a fixture)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def strategies(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str, str]]:
    """How each read the views serve was read: (access, sql, why) → count."""
    seen: Counter[tuple[str, str, str]] = Counter()
    read_rows = reads.read_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        rows, strategy = read_rows(*args, **kwargs)
        seen[(strategy.access, strategy.sql, strategy.why)] += 1
        return rows, strategy

    monkeypatch.setattr(reads, "read_rows", spy)
    return seen


@pytest.fixture(autouse=True)
def fresh_shapes(monkeypatch: pytest.MonkeyPatch) -> ShapeCache:
    cache = ShapeCache()
    monkeypatch.setattr(reads, "shapes", cache)
    return cache


def built_and_drf(client: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any]:
    """The response as served, as built from the request (no shape), and as DRF's serializers give it."""
    served = client.get(url)
    with monkeypatch.context() as patch:
        patch.setattr(ShapeCache, "shape", lambda self, key, values, build: None)
        built = client.get(url)
    with monkeypatch.context() as patch:
        patch.setattr(TenantModelViewSet, "read_plan", lambda self: None)
        drf = client.get(url)
    return served, built, drf


def assert_same(*responses: Any) -> None:
    first = responses[0]
    assert first.status_code == 200, first.content
    for other in responses[1:]:
        assert (other.status_code, other.get("ETag"), other.content) == (
            first.status_code,
            first.get("ETag"),
            first.content,
        )


@pytest.fixture
def organizations(firm: Any) -> list[Organization]:
    t = firm.tenant
    made = [
        f.CustomerFactory(
            tenant=t, name=f"Bistro {i}", city="Zürich" if i % 2 else "Lyon", priority="AB"[i % 2]
        )
        for i in range(7)
    ]
    made.append(f.CustomerFactory(tenant=t, name="Child", parent=made[0], city="zürich"))
    return made


URLS = [
    "/organizations/?page_size=3",
    "/organizations/?page_size=3&ordering=name",
    "/organizations/?page_size=2&ordering=-name,id&type=customer",
    "/organizations/?city=ZÜRICH&page_size=2",  # iexact: a slot that UPPER()s in SQL
    "/organizations/?city=100%25_%5C&page_size=2",  # LIKE's metacharacters, as a value
    "/organizations/?priority=A&priority=B&page_size=2",
    "/organizations/?created_after=2000-01-01T00:00:00%2B05:00&page_size=2",
    "/organizations/?created_after=2000-01-01T00:00:00&page_size=2",
    "/products/?min_price=0.05&page_size=2&expand=principal",
    "/opportunities/?is_open=true&expand=customer,principal&page_size=2",
    "/opportunities/?page_size=2&ordering=-weighted_weekly_volume",
    "/interactions/?follow_up_due=2999-01-01&page_size=2",
    "/contacts/?page_size=2&ordering=last_name,first_name&expand=organization",
]


@pytest.mark.parametrize("path", URLS)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_shaped_read_answers_what_the_built_query_and_drf_answer_page_by_page(
    firm,
    organizations,
    awkward_rows,  # noqa: F811
    role,
    path,
    monkeypatch,
    strategies,
):
    client = client_for(getattr(firm, role))
    url = f"{API}{path}"
    pages = 0
    while url and pages < 6:
        served, built, drf = built_and_drf(client, url, monkeypatch)
        assert_same(served, built, drf)
        body = ok(served)
        for row in body["results"][:2]:  # the details of the page, each read the same three ways
            base = url.split("?")[0]
            assert_same(*built_and_drf(client, f"{base}{row['id']}/", monkeypatch))
        url = body["next"]
        pages += 1
    assert pages >= 1
    assert any(sql == "shape" for _, sql, _ in strategies), strategies


def test_a_shape_is_compiled_once_then_filled_with_each_requests_values(
    firm, organizations, admin, fresh_shapes, strategies
):
    parent = organizations[0]
    assert ok(admin.get(f"{API}/organizations/?parent={parent.pk}"))["results"][0]["name"] == "Child"
    assert len(fresh_shapes) == 1
    other = f.CustomerFactory(tenant=firm.tenant, name="Another child", parent=organizations[1])
    shown = ok(admin.get(f"{API}/organizations/?parent={organizations[1].pk}"))["results"]
    assert [row["id"] for row in shown] == [other.pk]
    assert ok(admin.get(f"{API}/organizations/?parent=0"))["results"] == []
    assert len(fresh_shapes) == 1  # one shape served all three
    assert strategies == Counter({("plain", "shape", ""): 3})


def test_a_shaped_page_runs_the_same_statements_as_a_built_one(firm, organizations, admin, monkeypatch):
    url = f"{API}/organizations/?page_size=3&city=lyon"
    ok(admin.get(url))  # compiles the shape
    with CaptureQueriesContext(connection) as shaped:
        ok(admin.get(url))
    with monkeypatch.context() as patch:
        patch.setattr(ShapeCache, "shape", lambda self, key, values, build: None)
        with CaptureQueriesContext(connection) as built:
            ok(admin.get(url))

    def statements(queries: CaptureQueriesContext) -> list[str]:
        # The page's statements: not the test's savepoints, nor the context statement (its request id).
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT (")]

    assert statements(shaped) == statements(built)
    assert len(statements(shaped)) == 1


def test_the_managers_merged_pages_are_shaped_and_walk_the_same_rows_both_ways(
    firm, manager, monkeypatch, strategies
):
    for i in range(5):
        f.OpportunityFactory(
            tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, name=f"Deal {i}"
        )
        f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer)
    url = f"{API}/opportunities/?page_size=2"
    ids, _ = walk(manager, url)
    assert len(ids) == 5 and walk_backwards(manager, url) == ids
    assert {(access, sql) for access, sql, _ in strategies} == {("merge", "shape")}


def test_values_that_cannot_fill_a_slot_are_read_from_a_query_built_for_them(
    firm, organizations, admin, strategies
):
    # Past 32 bits Django compiles `= value` into no condition at all (its integer overflow rule).
    assert ok(admin.get(f"{API}/organizations/?parent=99999999999"))["results"] == []
    assert admin.get(f"{API}/organizations/99999999999999999999/").status_code == 404
    assert admin.get(f"{API}/organizations/not-an-id/").status_code == 404
    assert strategies == Counter(
        {
            ("plain", "built", "a value that cannot fill a slot"): 1,
            ("key", "built", "a value that cannot fill a slot"): 1,
        }
    )


def test_a_filter_method_that_may_read_more_than_its_value_is_built_per_request(
    firm, admin, strategies, monkeypatch
):
    from opportunities.filters import OpportunityFilter

    monkeypatch.setattr(OpportunityFilter, "value_only_methods", frozenset())
    ok(admin.get(f"{API}/opportunities/?is_open=true"))
    assert strategies == Counter(
        {("plain", "built", "filter is_open has a method that may read more than its value"): 1}
    )


def test_a_bad_request_gets_the_same_problem_as_before(firm, admin):
    # The checks run in the filter backends' order: unknown parameters, filter values, ordering, cursor.
    def problem(query: str) -> set[str]:
        response = admin.get(f"{API}/organizations/?{query}")
        assert response.status_code == 400
        return (
            set(response.json()["errors"])
            if isinstance(response.json()["errors"], dict)
            else {e.get("attr") or e.get("field") or e.get("pointer") for e in response.json()["errors"]}
        )

    assert "nope" in str(problem("nope=1&parent=x&ordering=zzz"))
    assert "parent" in str(problem("parent=x&ordering=zzz"))
    assert "ordering" in str(problem("ordering=zzz&cursor=bad"))
    assert "cursor" in str(problem("cursor=bad"))


# --- the cache itself ------------------------------------------------------------------------------------


def _names(values: dict[str, Any]) -> Any:
    return Organization.objects.filter(tenant_id=values["tenant"]).values_list("name", named=True)


def test_a_value_the_query_transforms_is_never_a_slot():
    cache = ShapeCache()
    # icontains wraps the value in %…% (escaping LIKE's characters): the probe is not found as it is.
    shape = cache.shape(
        ("contains",), {"tenant": 1, "text": "a"}, lambda v: _names(v).filter(name__icontains=v["text"])
    )
    assert shape is None


def test_a_value_written_into_the_sql_text_is_never_a_slot():
    cache = ShapeCache()
    shape = cache.shape(
        ("inlined",),
        {"tenant": 1, "n": 3},
        lambda v: _names(v).filter(pk__in=RawSQL(f"SELECT {int(v['n'])}", ())),
    )
    assert shape is None


def test_a_value_that_picks_another_query_is_never_a_slot():
    cache = ShapeCache()
    # The two rounds of probes differ in parity: a build that branches on the value gives two SQL texts.
    shape = cache.shape(
        ("branch",),
        {"tenant": 1, "n": 4},
        lambda v: _names(v).filter(Q(pk=v["n"]) if v["n"] % 2 else Q(pk__gt=v["n"])),
    )
    assert shape is None


def test_a_plain_value_is_a_slot_and_the_shape_fills_it(firm, organizations):
    cache = ShapeCache()
    build = lambda v: _names(v).filter(city__iexact=v["city"]).order_by("name")  # noqa: E731
    shape = cache.shape(("iexact",), {"tenant": firm.tenant.pk, "city": "x"}, build)
    assert shape is not None and len(cache) == 1
    for city in ("ZÜRICH", "lyon", "nowhere"):
        values = {"tenant": firm.tenant.pk, "city": city}
        assert [row.name for row in shape.rows(values)] == [row.name for row in build(values)]


def test_slot_kinds_keep_values_that_could_change_the_sql_out():
    assert slot_kind(5) == "int" and slot_kind(2**31) is None and slot_kind(True) is None
    assert slot_kind(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == "datetime"
    assert slot_kind(dt.datetime(2020, 1, 1)) is None  # naive: Django would make it aware
    assert slot_kind(Decimal("NaN")) is None and slot_kind(Decimal("1.5")) == "decimal"
    assert slot_kind([1, 2]) == "ints" and slot_kind([1, 2**40]) is None and slot_kind(None) is None


def test_the_cache_starts_again_when_full(firm):
    cache = ShapeCache(limit=2)
    for name in ("a", "b", "c"):
        assert cache.shape((name,), {"tenant": firm.tenant.pk}, _names) is not None
    assert len(cache) == 1


def test_module_cache_is_bounded():
    assert shapes.MAX_SHAPES <= 1024


def test_a_view_with_scope_conditions_of_its_own_is_built_per_request(
    firm, organizations, admin, strategies, monkeypatch
):
    from organizations.views import OrganizationViewSet

    def mine(self: Any) -> dict[str, Any]:  # e.g. the caller's own rows: a value a shape must not keep
        return {**TenantModelViewSet.scope_conditions(self), "account_manager_id": self.crm.user_id}

    monkeypatch.setattr(OrganizationViewSet, "scope_conditions", mine)
    assert ok(admin.get(f"{API}/organizations/"))["results"] == []
    assert strategies == Counter({("plain", "built", "the view has scope conditions of its own"): 1})


def test_a_subclass_of_a_stock_filter_is_built_per_request(
    firm, organizations, admin, strategies, monkeypatch
):
    import django_filters

    from organizations.filters import OrganizationFilter

    class ContainsFilter(django_filters.CharFilter):
        pass

    spec = ContainsFilter(field_name="city", lookup_expr="iexact")
    monkeypatch.setitem(OrganizationFilter.base_filters, "city", spec)
    monkeypatch.setattr(OrganizationFilter, "_form_class", None, raising=False)
    ok(admin.get(f"{API}/organizations/?city=lyon"))
    assert [why for _, _, why in strategies] == [
        "filter city is not one whose SQL is known not to depend on its value"
    ]
