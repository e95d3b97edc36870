"""DELETE is a soft delete: the row keeps its data (deleted_at, and deleted_by written by the database)
but vanishes from every list, detail, search and the admin, until POST …/restore/ brings it back. An
organization with live dependents is refused (409) unless ?cascade=true takes them along."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from contacts.models import Contact
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from products.models import Product
from tests import factories as f
from tests.admin.support import signed_in, url
from tests.api.support import API, assert_problem, ok, result_ids
from tests.conftest import Firm, client_for
from tests.history.support import AUDITED, Audited, history
from tests.integrity.sql import select


@pytest.mark.parametrize("resource", AUDITED, ids=str)
def test_delete_hides_the_row_and_restore_brings_it_back(
    firm: Firm, manager: APIClient, resource: Audited
) -> None:
    record = ok(manager.post(resource.url, resource.create(firm)), 201)
    detail = f"{resource.url}{record['id']}/"
    listing = f"{resource.url}?page_size=200{resource.list_query}"

    assert manager.delete(detail).status_code == 204

    deleted_at, deleted_by = select(resource.table, record["id"], "deleted_at", "deleted_by_id")
    assert deleted_at is not None and deleted_by == firm.manager.pk  # written by the database
    assert_problem(manager.get(detail), 404)
    assert record["id"] not in result_ids(manager, listing)
    assert_problem(manager.patch(detail, {}), 404)
    assert_problem(manager.delete(detail), 404)

    restored = ok(manager.post(f"{detail}restore/"))

    assert restored["id"] == record["id"] and restored["version"] == record["version"] + 2
    assert ok(manager.get(detail))["id"] == record["id"]
    assert record["id"] in result_ids(manager, listing)
    assert select(resource.table, record["id"], "deleted_at", "deleted_by_id") == (None, None)
    assert [e["operation"] for e in history(manager, resource.name, record["id"])][:2] == [
        "restore",
        "delete",
    ]


SEARCHES = [
    ("organizations", lambda firm: f.CustomerFactory(tenant=firm.tenant, name="Zanzibar Grill"), "zanzib"),
    (
        "contacts",
        lambda firm: f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name="Zelda"),
        "zeld",
    ),
    (
        "products",
        lambda firm: f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, name="Zucchini fries"),
        "zucch",
    ),
    (
        "opportunities",
        lambda firm: f.OpportunityFactory(
            tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, name="Zesty wings"
        ),
        "zest",
    ),
    (
        "interactions",
        lambda firm: f.InteractionFactory(
            tenant=firm.tenant, organization=firm.customer, subject="Zoning call"
        ),
        "zonin",
    ),
]


@pytest.mark.parametrize(("resource", "make", "term"), SEARCHES, ids=[s[0] for s in SEARCHES])
def test_deleted_rows_vanish_from_search(
    firm: Firm, manager: APIClient, resource: str, make: Any, term: str
) -> None:
    row = make(firm)
    search = f"{API}/{resource}/?search={term}"
    assert result_ids(manager, search) == [row.pk]

    assert manager.delete(f"{API}/{resource}/{row.pk}/").status_code == 204

    assert result_ids(manager, search) == []


def test_a_row_pointing_at_a_deleted_row_is_still_returned_and_keeps_the_reference(
    firm: Firm, manager: APIClient
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    interaction = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, contact=contact)
    assert manager.delete(f"{API}/contacts/{contact.pk}/").status_code == 204

    # The reference is kept (restoring the contact must find it again); the interaction stays listed.
    assert ok(manager.get(f"{API}/interactions/{interaction.pk}/"))["contact"] == contact.pk
    assert interaction.pk in result_ids(manager, f"{API}/interactions/?expand=contact")
    assert ok(manager.get(f"{API}/interactions/{interaction.pk}/?expand=contact"))["id"] == interaction.pk
    assert_problem(manager.get(f"{API}/contacts/{contact.pk}/"), 404)


def test_deleted_rows_vanish_from_the_admins_default_changelist(firm: Firm, manager: APIClient) -> None:
    kept = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    gone = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    assert manager.delete(f"{API}/products/{gone.pk}/").status_code == 204
    browser = signed_in(firm.manager)

    listed = [p.pk for p in browser.get(url(Product)).context["cl"].result_list]
    assert listed == [kept.pk]
    assert browser.get(url(Product, "change", gone.pk)).status_code in (302, 404)  # no page for it

    ok(manager.post(f"{API}/products/{gone.pk}/restore/"))
    assert sorted(p.pk for p in browser.get(url(Product)).context["cl"].result_list) == sorted(
        [kept.pk, gone.pk]
    )


def test_restore_is_for_writers_who_see_the_row(firm: Firm, admin: APIClient) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    assert admin.delete(f"{API}/opportunities/{opportunity.pk}/").status_code == 204
    restore = f"{API}/opportunities/{opportunity.pk}/restore/"

    assert_problem(client_for(firm.viewer).post(restore), 403)
    assert_problem(client_for(firm.other_manager).post(restore), 404)
    assert Opportunity.objects.get(pk=opportunity.pk).deleted_at is not None


# ---------------------------------------------------------------------------------------------------
# Organizations and their dependents.


def _deal(firm: Firm, **extra: Any) -> Opportunity:
    """An open opportunity at the customer with a product and a contact on it."""
    opportunity = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, **extra
    )
    f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity)
    f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity)
    return opportunity


def _deleted(model: type[Model], **lookups: Any) -> list[tuple[int, bool, int | None]]:
    return sorted(
        (row.pk, row.deleted_at is not None, row.deleted_by_id)  # type: ignore[attr-defined]
        for row in model._default_manager.filter(**lookups)
    )


def test_deleting_an_organization_with_live_dependents_is_409_with_their_counts(
    firm: Firm, manager: APIClient
) -> None:
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    _deal(firm)
    f.OpportunityFactory(  # closed: does not hold the organization back
        tenant=firm.tenant,
        principal=firm.principal_a,
        customer=firm.customer,
        stage="closed_lost",
        loss_reason="Price",
    )
    gone = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    assert manager.delete(f"{API}/contacts/{gone.pk}/").status_code == 204  # deleted: does not count

    body = assert_problem(manager.delete(f"{API}/organizations/{firm.customer.pk}/"), 409)

    # The opportunity's own contact is at the customer too: three live contacts in all.
    assert body["dependents"] == {"contacts": 3, "open_opportunities": 1}
    assert ok(manager.get(f"{API}/organizations/{firm.customer.pk}/"))["version"] == 1
    assert Contact.objects.filter(organization=firm.customer, deleted_at__isnull=True).count() == 3


def test_deleting_an_organization_without_live_dependents_needs_no_cascade(
    firm: Firm, manager: APIClient
) -> None:
    f.OpportunityFactory(
        tenant=firm.tenant,
        principal=firm.principal_a,
        customer=firm.customer,
        stage="closed_won",
        win_reason="Menu",
    )

    assert manager.delete(f"{API}/organizations/{firm.customer.pk}/").status_code == 204


def test_cascade_soft_deletes_contacts_opportunities_and_their_products_and_contacts(
    firm: Firm, manager: APIClient
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    deal = _deal(firm)

    response = manager.delete(f"{API}/organizations/{firm.customer.pk}/?cascade=true")

    assert response.status_code == 204
    me = firm.manager.pk
    assert _deleted(Contact, organization=firm.customer) == sorted(
        [(contact.pk, True, me), (deal.opportunity_contacts.get().contact_id, True, me)]
    )
    assert _deleted(Opportunity, pk=deal.pk) == [(deal.pk, True, me)]
    assert _deleted(OpportunityProduct, opportunity=deal) == [(deal.opportunity_products.get().pk, True, me)]
    assert _deleted(OpportunityContact, opportunity=deal) == [(deal.opportunity_contacts.get().pk, True, me)]
    assert history(manager, "opportunities", deal.pk)[0]["request_id"] == response["X-Request-ID"]
    assert history(manager, "contacts", contact.pk)[0]["operation"] == "delete"


def test_restore_brings_back_what_the_cascade_took_but_not_rows_deleted_before(
    firm: Firm, manager: APIClient
) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    earlier = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    earlier_deal = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer
    )
    assert manager.delete(f"{API}/contacts/{earlier.pk}/").status_code == 204
    assert manager.delete(f"{API}/opportunities/{earlier_deal.pk}/").status_code == 204
    assert manager.delete(f"{API}/organizations/{firm.customer.pk}/?cascade=true").status_code == 204

    ok(manager.post(f"{API}/organizations/{firm.customer.pk}/restore/"))

    assert result_ids(manager, f"{API}/contacts/?organization={firm.customer.pk}") == [contact.pk]
    assert result_ids(manager, f"{API}/opportunities/?customer={firm.customer.pk}") == [opportunity.pk]
    assert_problem(manager.get(f"{API}/contacts/{earlier.pk}/"), 404)
    assert_problem(manager.get(f"{API}/opportunities/{earlier_deal.pk}/"), 404)
    assert [e["operation"] for e in history(manager, "contacts", contact.pk)][:2] == ["restore", "delete"]
    assert history(manager, "contacts", earlier.pk)[0]["operation"] == "delete"


def test_restore_of_a_row_whose_parent_is_deleted_is_refused_with_400(firm: Firm, manager: APIClient) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    assert manager.delete(f"{API}/organizations/{firm.customer.pk}/?cascade=true").status_code == 204

    assert_problem(manager.post(f"{API}/contacts/{contact.pk}/restore/"), 400, field="organization")
    assert Contact.objects.get(pk=contact.pk).deleted_at is not None
