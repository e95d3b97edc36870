"""The faster read paths of a list (a search page picked by the keyed search function, filtered lists merged
over the book) show exactly what the plain query and the policies show, page by page, as the runtime role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.views import ContactViewSet
from crm import rls
from crm.api import book_merge
from crm.api.book_merge import BookStatistics, merges_over_book
from interactions.models import Interaction
from interactions.views import InteractionViewSet
from opportunities.models import Opportunity
from opportunities.views import OpportunityViewSet
from organizations.models import Organization
from products.models import Product
from products.views import ProductViewSet
from tests import factories as f
from tests.api.support import API, ok, walk, walk_backwards

pytestmark = pytest.mark.django_db


def _statements(client, url: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        ok(client.get(url))
    return "\n".join(q["sql"] for q in queries.captured_queries)


@pytest.fixture
def kowalskis(firm) -> dict[str, list[int]]:
    """Contacts named Kowalski/Kowalczyk (ties on last and first name) in the manager's book, outside it and
    at a shared account, plus one who does not match."""
    at = {"book": firm.principal_a, "outside": firm.principal_b, "shared": firm.customer}
    made: dict[str, list[int]] = {kind: [] for kind in at}
    for i in range(4):
        for kind, organization in at.items():
            contact = f.ContactFactory(
                tenant=firm.tenant,
                organization=organization,
                last_name="Kowalski" if i % 2 else "Kowalczyk",
                first_name="Anna" if i < 2 else f"Jan {kind}",
            )
            made[kind].append(contact.pk)
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer, last_name="Nowak")
    return made


def _in_list_order(ids: list[int]) -> list[int]:
    return list(
        Contact.objects.filter(pk__in=ids)
        .order_by("last_name", "first_name", "id")
        .values_list("pk", flat=True)
    )


def test_a_search_page_picked_from_the_keyed_function_walks_exactly_what_the_manager_may_see(
    firm, manager, kowalskis
):
    expected = _in_list_order(kowalskis["book"] + kowalskis["shared"])
    url = f"{API}/contacts/?search=kowa&page_size=3"
    assert "crm_search_contact_keyed" in _statements(manager, url)
    ids, pages = walk(manager, url)
    assert ids == expected
    # Every page full: the function only returns rows the list shows, so its limit is the page's.
    assert [len(p["results"]) for p in pages] == [3, 3, 2]
    assert walk_backwards(manager, url) == expected


def test_a_keyed_search_page_is_the_plain_searchs_page_for_every_role(
    firm, admin, manager, viewer, kowalskis
):
    for client in (admin, manager, viewer):
        keyed, _ = walk(client, f"{API}/contacts/?search=kowa&page_size=2")
        # A filter besides the search takes the plain path (the function knows nothing of `role`).
        url = f"{API}/contacts/?search=kowa&role=other&page_size=2"
        assert "crm_search_contact_keyed" not in _statements(client, url)
        plain, _ = walk(client, url)
        assert keyed == plain
    viewer_sees, _ = walk(viewer, f"{API}/contacts/?search=kowa")
    assert viewer_sees == _in_list_order(kowalskis["book"])  # viewers read no shared contacts


def test_a_search_in_another_order_keeps_the_plain_path_and_its_order(firm, manager, kowalskis):
    url = f"{API}/contacts/?search=kowa&ordering=-id&page_size=3"
    assert "crm_search_contact_keyed" not in _statements(manager, url)
    ids, _ = walk(manager, url)
    assert ids == sorted(kowalskis["book"] + kowalskis["shared"], reverse=True)


def test_a_bad_cursor_on_a_keyed_search_is_a_problem_400(firm, manager, kowalskis):
    response = manager.get(f"{API}/contacts/?search=kowa&cursor=not-a-cursor")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "cursor" in str(response.json())


def test_the_keyed_search_function_carries_the_contact_policy_verbatim(firm):
    with connection.cursor() as cursor:
        qual = rls.select_policy_qual(cursor, "contact")
        cursor.execute(
            "SELECT p.prosrc, p.prosecdef, p.proconfig, has_function_privilege(%s, p.oid, 'EXECUTE'),"
            " EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)"
            " FROM pg_proc p WHERE p.proname = %s",
            [rls.runtime_role(), rls.keyed_search_function("contact")],
        )
        source, definer, config, runtime_may_run, public_may_run = cursor.fetchone()
    assert f"AND ({qual})" in source and "deleted_at IS NULL" in source
    assert definer and config == ["search_path=pg_catalog, public, pg_temp"]
    assert runtime_may_run and not public_may_run


@pytest.mark.parametrize(
    ("view", "model", "filters", "merged"),
    [
        (OpportunityViewSet, Opportunity, set(), True),
        # opportunity_principal_stage (tenant, principal, stage): each branch reads that stage only.
        (OpportunityViewSet, Opportunity, {"stage"}, True),
        (OpportunityViewSet, Opportunity, {"stage", "owner"}, False),
        (OpportunityViewSet, Opportunity, {"is_open"}, False),  # a method: no column to judge
        (OpportunityViewSet, Opportunity, {"principal"}, False),  # one principal already
        # "my follow-ups due" keeps its own index: neither filter is a column of a per-principal index.
        (InteractionViewSet, Interaction, {"user", "follow_up_due"}, False),
        (InteractionViewSet, Interaction, {"occurred_after"}, False),
        (InteractionViewSet, Interaction, {"type"}, False),
        (ProductViewSet, Product, {"category"}, False),
        (ContactViewSet, Contact, set(), True),  # merged only where the model says how (book_scope_column)
        (ContactViewSet, Contact, {"organization"}, False),
    ],
)
def test_a_filtered_list_is_merged_over_the_book_only_when_an_index_per_principal_covers_its_filters(
    view, model, filters, merged
):
    assert merges_over_book(filters, view.filterset_class, model) is merged


def test_a_managers_stage_list_merged_over_the_book_walks_the_rows_the_policy_shows(firm, manager, admin):
    second = f.PrincipalFactory(tenant=firm.tenant, name="Second Line Foods")
    f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.manager, principal=second)
    for _ in range(3):
        for principal in (firm.principal_a, second, firm.principal_b):
            for stage in ("demo_scheduled", "new_lead"):
                f.OpportunityFactory(
                    tenant=firm.tenant, principal=principal, customer=firm.customer, stage=stage
                )
    everything = ok(admin.get(f"{API}/opportunities/?stage=demo_scheduled&page_size=200"))["results"]
    expected = [row["id"] for row in everything if row["principal"] != firm.principal_b.pk]
    url = f"{API}/opportunities/?stage=demo_scheduled&page_size=4"
    assert "unnest" in _statements(manager, url)
    ids, pages = walk(manager, url)
    assert ids == expected and len(ids) == 6 and [len(p["results"]) for p in pages] == [4, 2]
    assert walk_backwards(manager, url) == expected


def test_a_merged_expanded_page_joins_its_relations_once_outside_the_per_principal_branches(
    firm, manager, admin
):
    """The branches pick ids and sort keys from the list's own table; the expansion's joins (and their
    tables' policies) run once, for the page's rows."""
    for principal in (firm.principal_a, firm.principal_b):
        for _ in range(3):
            f.OpportunityFactory(tenant=firm.tenant, principal=principal, customer=firm.customer)
    url = f"{API}/opportunities/?expand=customer,principal&page_size=2"
    page = next(sql for sql in _statements(manager, url).splitlines() if "unnest" in sql)
    merged = page[page.index("SELECT merged.id") :]
    branches = merged[: merged.index(") AS merged")]
    assert "INNER JOIN" not in branches and "organization" not in branches
    assert page[: page.index("SELECT merged.id")].count("INNER JOIN") == 2
    ids, _ = walk(manager, url)
    everything = ok(admin.get(f"{API}/opportunities/?page_size=200"))["results"]
    assert ids == [row["id"] for row in everything if row["principal"] != firm.principal_b.pk]


@pytest.mark.parametrize(
    ("statistics", "book", "merged"),
    [
        # Measured on a firm of 4M interactions (12 % shared) and 400k opportunities (none shared).
        (BookStatistics(4_000_510, 477_394, 1_476.6), 10, False),  # plain: 1.06 ms, merge 2.4
        (BookStatistics(400_000, 0, 167.4), 10, True),  # merge: 3.6 ms, plain 51.9
        (BookStatistics(400_000, 0, 167.4), 120, False),  # plain: 5.2 ms, merge 10.2
        (BookStatistics(48_000, 0, 20), 10, True),
    ],
)
def test_merge_or_plain_is_chosen_by_the_rows_each_would_read(statistics, book, merged):
    assert statistics.merge_is_cheaper(book, 51) is merged


def test_a_list_the_statistics_say_is_cheaper_plain_is_not_merged_and_shows_the_same_rows(
    firm, manager, admin, monkeypatch
):
    for principal in (firm.principal_a, firm.principal_b, None):
        for _ in range(3):
            f.InteractionFactory(tenant=firm.tenant, principal=principal, organization=firm.customer)
    url = f"{API}/interactions/?page_size=2"
    assert "unnest" in _statements(manager, url)  # no statistics (never analyzed): merged
    merged_ids, _ = walk(manager, url)
    mostly_shared = BookStatistics(firm_rows=1_000_000, shared_rows=500_000, rows_per_principal=1_000)
    monkeypatch.setitem(book_merge._statistics, Interaction._meta.db_table, mostly_shared)
    assert "unnest" not in _statements(manager, url)
    assert walk(manager, url)[0] == merged_ids
    visible = {row["id"] for row in ok(admin.get(f"{API}/interactions/?page_size=200"))["results"]}
    assert set(merged_ids) <= visible and len(merged_ids) == 6


def test_the_statistics_of_an_analyzed_table_say_its_firms_shared_and_per_principal_rows(firm):
    for principal in (firm.principal_a, firm.principal_b):
        for _ in range(3):
            f.InteractionFactory(tenant=firm.tenant, principal=principal, organization=firm.customer)
    f.InteractionFactory(tenant=firm.tenant, principal=None, organization=firm.customer)
    # Over every firm's rows (ANALYZE reads them all here: a small table), per firm and principal.
    rows = Interaction.objects.all()
    firms = rows.values("tenant_id").distinct().count()
    principals = rows.exclude(principal=None).values("principal_id").distinct().count()
    total, shared = rows.count() / firms, rows.filter(principal=None).count() / firms
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE interaction")  # inside the test's transaction: seen by it alone
        book_merge.read_book_statistics(cursor, {"interaction": "principal_id", "no_such_table": "id"})
    statistics = book_merge._statistics["interaction"]
    assert statistics.firm_rows == pytest.approx(total)
    assert statistics.shared_rows == pytest.approx(shared)
    assert statistics.rows_per_principal == pytest.approx((total - shared) / principals)
    assert "no_such_table" not in book_merge._statistics


def test_statistics_are_read_when_a_connection_opens_not_in_a_request(monkeypatch):
    from django.db import connections

    read: list[dict[str, str]] = []
    monkeypatch.setattr(book_merge, "read_book_statistics", lambda cursor, scoped: read.append(scoped))
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
    finally:
        other.close()
    assert read and read[0]["interaction"] == "principal_id" and read[0]["opportunity"] == "principal_id"


def test_a_multiple_choice_filter_on_an_own_column_reads_without_distinct_and_finds_each_row_once(
    firm, admin
):
    f.CustomerFactory(tenant=firm.tenant)
    f.DistributorFactory(tenant=firm.tenant)
    url = f"{API}/organizations/?type=customer&type=distributor&page_size=200"
    assert "DISTINCT" not in _statements(admin, url)
    ids = [row["id"] for row in ok(admin.get(url))["results"]]
    assert len(ids) == len(set(ids)) > 0
    expected = sorted(
        Organization.objects.filter(tenant=firm.tenant, type__in=["customer", "distributor"]).values_list(
            "pk", flat=True
        )
    )
    assert sorted(ids) == expected


def test_distinct_is_dropped_only_for_multiple_choices_on_the_tables_own_columns():
    import django_filters

    from crm.api.filtering import TenantFilterSet

    class Filters(TenantFilterSet):
        stage = django_filters.MultipleChoiceFilter(choices=[("a", "a")])
        products = django_filters.MultipleChoiceFilter(choices=[("1", "1")])  # many-to-many
        principal__name = django_filters.MultipleChoiceFilter(choices=[("x", "x")])  # through a relation

        class Meta:
            model = Opportunity
            fields: list[str] = []

    Filters()
    assert not Filters.base_filters["stage"].distinct
    assert Filters.base_filters["products"].distinct and Filters.base_filters["principal__name"].distinct
