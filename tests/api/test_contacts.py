"""/contacts/: CRUD with soft delete, filters, prefix search on names and emails, ordering, expansion."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/contacts/"


@pytest.fixture
def people(firm):
    deli = f.CustomerFactory(tenant=firm.tenant, name="Corner Deli")
    dana = f.ContactFactory(
        tenant=firm.tenant, organization=deli, first_name="Dana", last_name="Whitfield",
        email="dana.whitfield@cornerdeli.test", role="buyer", is_primary=True, title="Purchasing",
    )  # fmt: skip
    return {
        "dana": dana,
        "ravi": f.ContactFactory(
            tenant=firm.tenant, organization=deli, first_name="Ravi", last_name="Anand",
            email="chef@cornerdeli.test", role="decision_maker", reports_to=dana,
        ),
        "mo": f.ContactFactory(
            tenant=firm.tenant, organization=firm.customer, first_name="Mo", last_name="Baker", email="",
            role="buyer",
        ),
        "deli": deli,
    }  # fmt: skip


def test_list_is_ordered_by_last_then_first_name(firm, manager, people):
    names = [c["last_name"] for c in ok(manager.get(URL))["results"]]
    assert names == ["Anand", "Baker", "Whitfield"]


def test_create_retrieve_update_and_soft_delete_a_contact(firm, manager):
    created = ok(
        manager.post(
            URL,
            {
                "organization": firm.customer.pk,
                "first_name": "Lee",
                "last_name": "Park",
                "title": "Chef",
                "role": "champion",
                "email": "lee@bistro.test",
                "is_primary": True,
            },
        ),
        201,
    )
    assert created["created_by"] == firm.manager.pk
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["email"] == "lee@bistro.test"
    patched = ok(manager.patch(url, {"title": "Executive Chef", "mobile": "+1 512 555 0100"}))
    assert patched["title"] == "Executive Chef" and patched["first_name"] == "Lee"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)


def test_email_of_a_deleted_contact_can_be_reused_at_the_organization(firm, manager, people):
    manager.delete(f"{URL}{people['ravi'].pk}/")
    body = {"organization": people["deli"].pk, "first_name": "New chef", "email": "chef@cornerdeli.test"}
    ok(manager.post(URL, body), 201)


def test_same_email_at_another_organization_is_allowed(firm, manager, people):
    body = {"organization": firm.customer.pk, "first_name": "Dana", "email": "dana.whitfield@cornerdeli.test"}
    ok(manager.post(URL, body), 201)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("role=buyer", {"dana", "mo"}),
        ("role=buyer&role=decision_maker", {"dana", "ravi", "mo"}),
        ("is_primary=true", {"dana"}),
        ("is_primary=false", {"ravi", "mo"}),
        ("email=CHEF@cornerdeli.test", {"ravi"}),
    ],
)
def test_filters_narrow_the_list(manager, people, query, expected):
    assert set(result_ids(manager, f"{URL}?{query}")) == {people[n].pk for n in expected}


def test_filter_by_organization_and_reports_to(manager, people):
    assert set(result_ids(manager, f"{URL}?organization={people['deli'].pk}")) == {
        people["dana"].pk,
        people["ravi"].pk,
    }
    assert result_ids(manager, f"{URL}?reports_to={people['dana'].pk}") == [people["ravi"].pk]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("dan", {"dana"}),
        ("whit", {"dana"}),
        ("dana whitfield", {"dana"}),
        ("chef", {"ravi"}),  # email local part
        ("dana.whit", {"dana"}),  # email prefix
        ("chef@cornerdeli", {"ravi"}),  # email prefix up to the domain
        ("dana.whitfield@cornerdeli.test", {"dana"}),  # whole email
        ("cornerdeli", {"dana", "ravi"}),  # email domain
        ("purch", {"dana"}),  # title
        ("bak", {"mo"}),
        ("nobody", set()),
    ],
)
def test_search_matches_prefixes_of_names_emails_and_titles(manager, people, search, expected):
    assert set(result_ids(manager, f"{URL}?search={search}")) == {people[n].pk for n in expected}


@pytest.mark.parametrize("search", ["jsmith@corner", "jsmith@corner-deli", "corner-deli.test", "deli"])
def test_search_by_an_email_prefix_with_at_sign_or_hyphenated_domain_finds_the_contact(firm, manager, search):
    contact = f.ContactFactory(
        tenant=firm.tenant, organization=firm.customer, email="jsmith@corner-deli.test"
    )
    assert result_ids(manager, f"{URL}?search={search}") == [contact.pk]


def test_ordering_by_first_name_descending(manager, people):
    names = [c["first_name"] for c in ok(manager.get(f"{URL}?ordering=-first_name"))["results"]]
    assert names == ["Ravi", "Mo", "Dana"]


def test_expand_embeds_organization_and_manager(manager, people):
    row = ok(manager.get(f"{URL}{people['ravi'].pk}/?expand=organization,reports_to"))
    assert row["organization"] == {"id": people["deli"].pk, "name": "Corner Deli", "type": "customer"}
    assert row["reports_to"]["id"] == people["dana"].pk
    assert row["reports_to"]["email"] == "dana.whitfield@cornerdeli.test"
    rows = ok(manager.get(f"{URL}?expand=organization"))["results"]
    assert {r["organization"]["name"] for r in rows} == {"Corner Deli", "Acme Bistro"}


def test_duplicate_email_at_the_same_organization_is_400_case_insensitive(manager, people):
    body = {"organization": people["deli"].pk, "first_name": "Copy", "email": "CHEF@CornerDeli.test"}
    assert_problem(manager.post(URL, body), 400, field="email", code="unique")


def test_reports_to_a_contact_of_another_organization_is_400(manager, people):
    response = manager.patch(f"{URL}{people['mo'].pk}/", {"reports_to": people["dana"].pk})
    assert_problem(response, 400, field="reports_to")


def test_contact_cannot_report_to_themselves(manager, people):
    response = manager.patch(f"{URL}{people['dana'].pk}/", {"reports_to": people["dana"].pk})
    assert_problem(response, 400, field="reports_to")


def test_contact_cannot_move_to_another_organization(firm, manager, people):
    response = manager.patch(f"{URL}{people['mo'].pk}/", {"organization": people["deli"].pk})
    assert_problem(response, 400, field="organization")
    assert ok(manager.get(f"{URL}{people['mo'].pk}/"))["organization"] == firm.customer.pk


def test_contact_requires_organization_and_first_name(manager):
    body = assert_problem(manager.post(URL, {"last_name": "Nobody"}), 400)
    assert {e["field"] for e in body["errors"]} == {"organization", "first_name"}
