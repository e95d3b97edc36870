"""/organizations/: CRUD with soft delete, filters, prefix search, ordering and expansion."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/organizations/"


def test_list_shows_the_firms_organizations_ordered_by_name(firm, admin):
    names = [o["name"] for o in ok(admin.get(URL))["results"]]
    assert names == sorted(
        [firm.principal_a.name, firm.principal_b.name, firm.distributor.name, firm.customer.name]
    )


def test_retrieve_returns_every_documented_field(firm, manager):
    body = ok(manager.get(f"{URL}{firm.customer.pk}/"))
    for name in (
        "id", "name", "type", "priority", "segment", "parent", "account_manager", "status", "phone", "email",
        "website", "street", "city", "state", "postal_code", "country", "notes",
        "created_at", "updated_at", "created_by", "updated_by",
    ):  # fmt: skip
        assert name in body
    assert body["name"] == firm.customer.name and body["type"] == "customer"


def test_create_stores_the_organization_with_audit_columns(firm, manager):
    body = ok(
        manager.post(
            URL,
            {
                "name": "Corner Deli",
                "type": "customer",
                "priority": "A",
                "segment": "cafe",
                "account_manager": firm.manager.pk,
                "city": "Austin",
                "state": "TX",
                "email": "hello@cornerdeli.test",
            },
        ),
        201,
    )
    assert body["created_by"] == body["updated_by"] == firm.manager.pk
    assert body["country"] == "US" and body["status"] == "active"
    assert ok(manager.get(f"{URL}{body['id']}/"))["name"] == "Corner Deli"


def test_create_ignores_a_tenant_sent_in_the_body(firm, other_firm, manager):
    body = ok(
        manager.post(URL, {"name": "Tenant Smuggler", "type": "prospect", "tenant": other_firm.tenant.pk}),
        201,
    )
    assert body["id"] in result_ids(manager, f"{URL}?type=prospect")


def test_partial_update_changes_only_the_given_fields(firm, manager):
    body = ok(manager.patch(f"{URL}{firm.customer.pk}/", {"priority": "A", "notes": "Line review in May"}))
    assert body["priority"] == "A" and body["notes"] == "Line review in May"
    assert body["name"] == firm.customer.name
    assert body["updated_by"] == firm.manager.pk


def test_full_update_with_put_replaces_the_editable_fields(firm, manager):
    body = ok(manager.put(f"{URL}{firm.customer.pk}/", {"name": "Acme Bistro & Bar", "type": "customer"}))
    assert body["name"] == "Acme Bistro & Bar" and body["segment"] == "casual_dining"


def test_delete_is_soft_then_detail_is_404_and_list_omits_it(firm, manager):
    assert manager.delete(f"{URL}{firm.customer.pk}/").status_code == 204
    assert_problem(manager.get(f"{URL}{firm.customer.pk}/"), 404)
    assert firm.customer.pk not in result_ids(manager, URL)
    firm.customer.refresh_from_db()
    assert firm.customer.deleted_at is not None


def test_deleting_twice_is_404(firm, manager):
    manager.delete(f"{URL}{firm.customer.pk}/")
    assert_problem(manager.delete(f"{URL}{firm.customer.pk}/"), 404)


def test_name_of_a_deleted_organization_can_be_reused(firm, manager):
    manager.delete(f"{URL}{firm.customer.pk}/")
    ok(manager.post(URL, {"name": firm.customer.name.upper(), "type": "customer"}), 201)


@pytest.fixture
def orgs(firm):
    return {
        "deli": f.CustomerFactory(
            tenant=firm.tenant, name="Corner Deli", priority="A", segment="cafe", city="Austin", state="TX",
            email="orders@cornerdeli.test", account_manager=firm.manager,
        ),
        "school": f.CustomerFactory(
            tenant=firm.tenant, name="Lincoln High", priority="B", segment="education", city="Dallas", state="TX",
        ),
        "hospital": f.OrganizationFactory(
            tenant=firm.tenant, name="Mercy Hospital", type="prospect", priority="A", segment="healthcare",
            status="inactive", city="Austin",
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=prospect", {"hospital"}),
        ("type=prospect&type=customer&priority=A", {"deli", "hospital"}),
        ("priority=B", {"school"}),
        ("segment=cafe&segment=healthcare", {"deli", "hospital"}),
        ("status=inactive", {"hospital"}),
        ("city=austin", {"deli", "hospital"}),
        ("state=tx&segment=education", {"school"}),
    ],
)
def test_filters_narrow_the_list(firm, manager, orgs, query, expected):
    ids = set(result_ids(manager, f"{URL}?{query}"))
    assert ids == {orgs[name].pk for name in expected}


def test_filter_by_account_manager(firm, manager, orgs):
    assert result_ids(manager, f"{URL}?account_manager={firm.manager.pk}") == [orgs["deli"].pk]


def test_filter_by_parent_lists_a_chains_units(firm, manager):
    unit = f.CustomerFactory(tenant=firm.tenant, parent=firm.customer)
    assert result_ids(manager, f"{URL}?parent={firm.customer.pk}") == [unit.pk]


def test_filter_type_principal_lists_only_principals_in_book_for_manager(firm, manager):
    assert result_ids(manager, f"{URL}?type=principal") == [firm.principal_a.pk]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("corn", {"deli"}),
        ("Corner Deli", {"deli"}),
        ("CORNER de", {"deli"}),
        ("lincoln", {"school"}),
        ("orders", {"deli"}),  # email prefix
        ("austin", {"deli", "hospital"}),  # city
        ("deli austin", {"deli"}),  # every word must match
        ("zzz", set()),
    ],
)
def test_search_matches_word_prefixes_of_name_email_and_city(firm, manager, orgs, search, expected):
    ids = set(result_ids(manager, f"{URL}?search={search}"))
    assert ids == {orgs[name].pk for name in expected}


def test_search_of_only_punctuation_is_ignored(firm, manager, orgs):
    assert len(result_ids(manager, f"{URL}?search=%26%7C!")) == len(result_ids(manager, URL))


def test_search_combines_with_filters(firm, manager, orgs):
    assert result_ids(manager, f"{URL}?search=austin&type=prospect") == [orgs["hospital"].pk]


def test_ordering_by_name_descending_and_by_priority(firm, manager, orgs):
    names = [o["name"] for o in ok(manager.get(f"{URL}?ordering=-name"))["results"]]
    assert names == sorted(names, reverse=True)
    priorities = [o["priority"] for o in ok(manager.get(f"{URL}?ordering=priority,name"))["results"]]
    assert priorities == sorted(priorities)


def test_expand_embeds_parent_and_account_manager(firm, manager):
    unit = f.CustomerFactory(tenant=firm.tenant, parent=firm.customer, account_manager=firm.manager)
    row = ok(manager.get(f"{URL}{unit.pk}/?expand=parent,account_manager"))
    assert row["parent"] == {"id": firm.customer.pk, "name": firm.customer.name, "type": "customer"}
    assert row["account_manager"]["id"] == firm.manager.pk
    assert row["account_manager"]["email"] == firm.manager.email
    listed = ok(manager.get(f"{URL}?parent={firm.customer.pk}&expand=parent"))["results"]
    assert listed[0]["parent"]["name"] == firm.customer.name


def test_expand_of_an_empty_reference_is_null(firm, manager):
    assert ok(manager.get(f"{URL}{firm.customer.pk}/?expand=parent"))["parent"] is None


def test_without_expand_references_are_ids(firm, manager):
    unit = f.CustomerFactory(tenant=firm.tenant, parent=firm.customer)
    assert ok(manager.get(f"{URL}{unit.pk}/"))["parent"] == firm.customer.pk


def test_admin_creates_a_principal(firm, admin):
    body = ok(admin.post(URL, {"name": "Crispy Fries Co", "type": "principal"}), 201)
    assert body["id"] in result_ids(admin, f"{URL}?type=principal")


def test_manager_adding_a_principal_is_refused_with_a_problem_not_a_500(firm, admin, manager):
    # A principal's scope key is its own id, outside every book: only an admin may add one.
    response = manager.post(URL, {"name": "Sneaky Principal", "type": "principal"})
    assert_problem(response, 400, field="type")
    assert "Sneaky Principal" not in {o["name"] for o in ok(admin.get(f"{URL}?type=principal"))["results"]}
