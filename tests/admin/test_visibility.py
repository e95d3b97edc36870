"""The admin shows what row level security shows: books, shared rows, the firm; autocomplete too."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact
from crm.models import User
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.admin.support import Sample, signed_in, url
from tests.conftest import Firm


def listed(user: User, path: str) -> set[Any]:
    response = signed_in(user).get(path)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def autocomplete(user: User, app_label: str, model_name: str, field_name: str, term: str = "") -> set[str]:
    response = signed_in(user).get(
        "/admin/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return {row["text"] for row in response.json()["results"]}


def test_manager_changelist_has_the_book_and_shared_accounts_only(firm: Firm, other_firm: Firm) -> None:
    rows = listed(firm.manager, url(Organization))
    assert {firm.principal_a, firm.distributor, firm.customer} <= rows
    assert firm.principal_b not in rows
    assert not rows & {other_firm.principal_a, other_firm.customer}


def test_manager_does_not_see_products_outside_the_book(firm: Firm) -> None:
    mine = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    theirs = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    assert listed(firm.manager, url(Product)) == {mine}
    assert listed(firm.admin, url(Product)) == {mine, theirs}
    response = signed_in(firm.manager).get(url(Product, "change", theirs.pk))
    assert response.status_code == 302  # "does not exist" redirect, as for a missing id


def test_viewer_does_not_see_shared_contacts(firm: Firm) -> None:
    shared = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    rep = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)
    assert listed(firm.viewer, url(Contact)) == {rep}
    assert listed(firm.manager, url(Contact)) == {shared, rep}


def test_soft_deleted_rows_are_not_listed(firm: Firm) -> None:
    gone = f.CustomerFactory(tenant=firm.tenant, name="Closed Diner")
    Organization.objects.filter(pk=gone.pk).update(deleted_at="2025-01-01T00:00:00Z")
    assert gone not in listed(firm.admin, url(Organization))


def test_users_are_the_firms_members(firm: Firm, other_firm: Firm) -> None:
    everyone = {firm.admin, firm.manager, firm.other_manager, firm.viewer}
    assert listed(firm.admin, url(User)) == everyone
    assert listed(firm.viewer, url(User)) == everyone
    assert signed_in(firm.admin).get(url(User, "change", other_firm.admin.pk)).status_code == 302


def test_only_admins_read_other_members_roles(firm: Firm) -> None:
    response = signed_in(firm.manager).get(url(User))
    content = response.content.decode()
    assert "Sales Manager" in content  # their own
    assert "Admin</td>" not in content and "Viewer</td>" not in content


def test_search_uses_word_prefixes(firm: Firm) -> None:
    f.CustomerFactory(tenant=firm.tenant, name="Blue Heron Tavern", city="Portland")
    rows = listed(firm.manager, url(Organization) + "?q=heron+tav")
    assert {o.name for o in rows} == {"Blue Heron Tavern"}
    assert {o.name for o in listed(firm.manager, url(Organization) + "?q=portl")} == {"Blue Heron Tavern"}


def test_principal_filter_offers_the_visible_principals(firm: Firm) -> None:
    response = signed_in(firm.manager).get(url(Product))
    principal_filter = next(s for s in response.context["cl"].filter_specs if s.parameter_name == "principal")
    assert [name for _pk, name in principal_filter.lookup_choices] == [firm.principal_a.name]


def test_autocomplete_offers_only_visible_rows_of_the_right_type(firm: Firm) -> None:
    assert autocomplete(firm.manager, "products", "product", "principal") == {firm.principal_a.name}
    assert autocomplete(firm.admin, "products", "product", "principal") == {
        firm.principal_a.name,
        firm.principal_b.name,
    }
    assert autocomplete(firm.admin, "opportunities", "opportunity", "customer") == {firm.customer.name}
    assert autocomplete(firm.admin, "opportunities", "opportunity", "distributor") == {firm.distributor.name}
    # Any visible organization where the type is free.
    assert autocomplete(firm.manager, "interactions", "interaction", "organization") == {
        firm.principal_a.name,
        firm.distributor.name,
        firm.customer.name,
    }


def test_autocomplete_searches_and_hides_other_books(firm: Firm) -> None:
    f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a, first_name="Ada", last_name="Quist")
    f.ContactFactory(tenant=firm.tenant, organization=firm.principal_b, first_name="Ada", last_name="Quimby")
    assert autocomplete(firm.manager, "interactions", "interaction", "contact", "ada qui") == {"Ada Quist"}
    assert autocomplete(firm.admin, "interactions", "interaction", "contact", "ada qui") == {
        "Ada Quist",
        "Ada Quimby",
    }


def test_autocomplete_of_users_offers_the_firms_members(firm: Firm, other_firm: Firm) -> None:
    members = {str(u) for u in (firm.admin, firm.manager, firm.other_manager, firm.viewer)}
    assert autocomplete(firm.admin, "opportunities", "opportunity", "owner") == members
    assert autocomplete(firm.manager, "opportunities", "opportunity", "owner") == members


def test_a_superuser_without_membership_gets_nothing(db: Any, sample: Sample) -> None:
    root = f.UserFactory(is_staff=True, is_superuser=True)
    client = signed_in(root)
    assert client.get("/admin/").status_code == 302
    assert client.get(url(Organization)).status_code == 302
    assert client.get(
        "/admin/autocomplete/", {"app_label": "products", "model_name": "product", "field_name": "principal"}
    ).status_code in (302, 403)
