"""Merging duplicates through the API (ADR 0029): the candidate lists, and merges of organizations and
contacts that move every reference, fold identical links, refuse clashes and stay within the caller's reach."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.models import HistoryEntry
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact
from organizations.models import CustomerDistributor, DistributorAuthorization, Organization
from products.models import ProductDistributor
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

ORGANIZATIONS = f"{API}/organizations/"
CONTACTS = f"{API}/contacts/"


def merge(client: Any, survivor: Any, *merged: Any, url: str = ORGANIZATIONS, **headers: Any) -> Any:
    return client.post(
        f"{url}{survivor.pk}/merge/", {"merge": [row.pk for row in merged]}, format="json", **headers
    )


def pairs(client: Any, url: str) -> list[tuple[set[int], str, float]]:
    body = ok(client.get(url))
    return [({p["left"]["id"], p["right"]["id"]}, p["reason"], p["score"]) for p in body["results"]]


# --- duplicates ---------------------------------------------------------------------------------------


def test_sysco_boston_and_sysco_dash_boston_are_a_pair(firm: Firm, manager: Any) -> None:
    plain = f.DistributorFactory(tenant=firm.tenant, name="Sysco Boston")
    dashed = f.DistributorFactory(tenant=firm.tenant, name="SYSCO – Boston")
    f.DistributorFactory(tenant=firm.tenant, name="Sysco Chicago")
    found = pairs(manager, f"{ORGANIZATIONS}duplicates/")
    assert ({plain.pk, dashed.pk}, "same_name", 1.0) in found
    assert all(ids != {plain.pk} for ids, _, _ in found)
    assert len(found) == 1, found


def test_alike_names_pair_only_when_the_city_or_phone_agrees(firm: Firm, manager: Any) -> None:
    inc = f.CustomerFactory(tenant=firm.tenant, name="Blue Door Grill & Bar, Inc.", city="Austin")
    short = f.CustomerFactory(tenant=firm.tenant, name="Blue Door Grill", city="AUSTIN")
    elsewhere = f.CustomerFactory(tenant=firm.tenant, name="Blue Door Grill Kitchen", city="Dallas")
    by_phone = f.CustomerFactory(
        tenant=firm.tenant, name="Blue Door Kitchen", city="Dallas", phone="+1 (512) 555-0101"
    )
    f.CustomerFactory(tenant=firm.tenant, name="Red Door Kitchen", city="Houston", phone="512.555.0101")
    found = pairs(manager, f"{ORGANIZATIONS}duplicates/")
    reasons = {frozenset(ids): (reason, score) for ids, reason, score in found}
    assert reasons[frozenset({inc.pk, short.pk})] == ("similar_name_same_city", 0.75)
    assert frozenset({short.pk, elsewhere.pk}) not in reasons  # different cities, no phone
    assert reasons[frozenset({elsewhere.pk, by_phone.pk})][0] == "similar_name_same_city"
    scores = [score for _, _, score in found]
    assert scores == sorted(scores, reverse=True)


def test_duplicates_pages_with_a_cursor_and_refuses_unknown_parameters(firm: Firm, manager: Any) -> None:
    for n in range(5):
        f.CustomerFactory(tenant=firm.tenant, name=f"Corner Deli {n}")
        f.CustomerFactory(tenant=firm.tenant, name=f"corner-deli {n}")
    seen: list[frozenset[int]] = []
    url: str | None = f"{ORGANIZATIONS}duplicates/?page_size=2"
    while url:
        body = ok(manager.get(url))
        seen += [frozenset({p["left"]["id"], p["right"]["id"]}) for p in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 5
    assert_problem(manager.get(f"{ORGANIZATIONS}duplicates/?type=customer"), 400, field="type")
    assert_problem(manager.get(f"{ORGANIZATIONS}duplicates/?cursor=nonsense"), 400, field="cursor")


def test_duplicates_list_is_one_query_whatever_its_size(firm: Firm, manager: Any) -> None:
    for n in range(20):
        f.CustomerFactory(tenant=firm.tenant, name=f"Harbor Cafe {n}")
        f.CustomerFactory(tenant=firm.tenant, name=f"HARBOR CAFÉ {n}")
    ok(manager.get(f"{ORGANIZATIONS}duplicates/"))  # warm: plans, token check
    with CaptureQueriesContext(connection) as queries:
        ok(manager.get(f"{ORGANIZATIONS}duplicates/"))
    duplicates = [q for q in queries.captured_queries if "o.match_words" in q["sql"]]
    assert len(duplicates) == 1
    # The request's own statements (context, transaction) and that one: no statement per pair.
    assert len(queries.captured_queries) <= 6, [q["sql"][:80] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as queries:
        ok(manager.get(f"{CONTACTS}duplicates/"))
    assert len(queries.captured_queries) <= 6


def test_duplicates_show_only_what_the_reader_sees(firm: Firm, other_firm: Firm, manager: Any) -> None:
    f.DistributorFactory(tenant=other_firm.tenant, name="Sysco Boston")
    f.DistributorFactory(tenant=other_firm.tenant, name="SYSCO Boston Inc")
    mine = f.ContactFactory(
        tenant=firm.tenant, organization=firm.principal_a, first_name="Ann", last_name="Lee"
    )
    twin = f.ContactFactory(
        tenant=firm.tenant, organization=firm.principal_a, first_name="ANN", last_name="lee"
    )
    f.ContactFactory(tenant=firm.tenant, organization=firm.principal_b, first_name="Bo", last_name="Ng")
    f.ContactFactory(tenant=firm.tenant, organization=firm.principal_b, first_name="Bo", last_name="NG")
    assert pairs(manager, f"{ORGANIZATIONS}duplicates/") == []
    assert pairs(manager, f"{CONTACTS}duplicates/") == [({mine.pk, twin.pk}, "same_name", 1.0)]


def test_contact_duplicates_by_email_anywhere_and_phone_at_one_organization(firm: Firm, manager: Any) -> None:
    a = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, email="pat@x.test", phone="")
    b = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor, email="PAT@x.test", phone="")
    c = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, phone="(617) 555-0199")
    d = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, phone="617 555 0199")
    found = pairs(manager, f"{CONTACTS}duplicates/")
    assert ({a.pk, b.pk}, "same_email", 1.0) in found
    assert ({c.pk, d.pk}, "same_phone", 0.8) in found


# --- organization merges --------------------------------------------------------------------------


def test_merge_moves_every_reference_onto_the_survivor(firm: Firm, admin: Any) -> None:
    t = firm.tenant
    survivor = f.DistributorFactory(tenant=t, name="Sysco Boston", city="Boston")
    merged = f.DistributorFactory(tenant=t, name="SYSCO – Boston", city="Boston")
    contact = f.ContactFactory(tenant=t, organization=merged)
    gone = f.ContactFactory(tenant=t, organization=merged)
    call = f.InteractionFactory(tenant=t, organization=merged, contact=gone)
    Contact.objects.filter(pk=gone.pk).update(deleted_at="2026-01-01T00:00:00Z")  # deleted since
    opportunity = f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=firm.customer, distributor=merged
    )
    authorization = f.DistributorAuthorizationFactory(
        tenant=t, distributor=merged, principal=firm.principal_b
    )
    link = f.CustomerDistributorFactory(tenant=t, customer=firm.customer, distributor=merged)
    item = f.ProductDistributorFactory(
        tenant=t, product=f.ProductFactory(tenant=t, principal=firm.principal_a), distributor=merged
    )
    child = f.DistributorFactory(tenant=t, name="Sysco Boston North", parent=merged)
    before = ok(admin.get(f"{ORGANIZATIONS}{survivor.pk}/"))

    body = ok(merge(admin, survivor, merged, HTTP_IF_MATCH=f'"{before["version"]}"'))

    assert body["id"] == survivor.pk
    assert Contact.objects.get(pk=contact.pk).organization_id == survivor.pk
    assert Contact.objects.get(pk=gone.pk).organization_id == survivor.pk
    assert Interaction.objects.get(pk=call.pk).organization_id == survivor.pk
    assert Opportunity.objects.get(pk=opportunity.pk).distributor_id == survivor.pk
    assert DistributorAuthorization.objects.get(pk=authorization.pk).distributor_id == survivor.pk
    assert CustomerDistributor.objects.get(pk=link.pk).distributor_id == survivor.pk
    assert ProductDistributor.objects.get(pk=item.pk).distributor_id == survivor.pk
    assert Organization.objects.get(pk=child.pk).parent_id == survivor.pk
    row = Organization.objects.get(pk=merged.pk)
    assert row.merged_into_id == survivor.pk and row.deleted_at is not None
    assert_problem(admin.get(f"{ORGANIZATIONS}{merged.pk}/"), 404)
    # Both sides keep the merge in their history.
    mine = ok(admin.get(f"{ORGANIZATIONS}{survivor.pk}/history/"))["results"][0]
    assert mine["operation"] == "merge" and mine["changes"] == {"merged_from": [None, merged.pk]}
    theirs = HistoryEntry.objects.filter(table_name="organization", row_id=merged.pk).first()
    assert theirs is not None and theirs.operation == "merge"
    assert theirs.changes["merged_into_id"] == [None, survivor.pk]


def test_merge_with_a_stale_if_match_is_a_412_and_writes_nothing(firm: Firm, admin: Any) -> None:
    survivor = f.DistributorFactory(tenant=firm.tenant, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=firm.tenant, name="SYSCO – Boston")
    assert_problem(merge(admin, survivor, merged, HTTP_IF_MATCH='"99"'), 412)
    assert Organization.objects.get(pk=merged.pk).deleted_at is None


def test_merge_sent_again_with_its_idempotency_key_gets_the_first_answer(firm: Firm, admin: Any) -> None:
    survivor = f.DistributorFactory(tenant=firm.tenant, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=firm.tenant, name="SYSCO – Boston")
    first = merge(admin, survivor, merged, HTTP_IDEMPOTENCY_KEY="merge-1")
    again = merge(admin, survivor, merged, HTTP_IDEMPOTENCY_KEY="merge-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert_problem(merge(admin, survivor, merged), 404)  # without the key: merged already, gone


def test_identical_links_fold_into_the_survivors(firm: Firm, admin: Any) -> None:
    t = firm.tenant
    survivor = f.DistributorFactory(tenant=t, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=t, name="SYSCO – Boston")
    kept = f.CustomerDistributorFactory(tenant=t, customer=firm.customer, distributor=survivor)
    twin = f.CustomerDistributorFactory(tenant=t, customer=firm.customer, distributor=merged)
    ok(merge(admin, survivor, merged))
    assert CustomerDistributor.objects.get(pk=kept.pk).deleted_at is None
    assert CustomerDistributor.objects.get(pk=twin.pk).deleted_at is not None
    assert CustomerDistributor.objects.filter(customer=firm.customer, deleted_at__isnull=True).count() == 1


def test_links_that_clash_and_differ_are_a_409_naming_them(firm: Firm, admin: Any) -> None:
    t = firm.tenant
    survivor = f.DistributorFactory(tenant=t, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=t, name="SYSCO – Boston")
    kept = f.DistributorAuthorizationFactory(tenant=t, distributor=survivor, principal=firm.principal_a)
    other = f.DistributorAuthorizationFactory(
        tenant=t, distributor=merged, principal=firm.principal_a, notes="since 2019"
    )
    body = assert_problem(merge(admin, survivor, merged), 409)
    assert body["code"] == "merge_clash"
    [clash] = body["clashes"]
    assert clash["resource"] == "distributor_authorization"
    assert clash["constraint"] == "distributor_authorization_unique_in_firm"
    assert clash["records"] == [kept.pk, other.pk] and clash["differing"] == ["notes"]
    assert Organization.objects.get(pk=merged.pk).deleted_at is None


def test_different_types_and_principals_are_a_409(firm: Firm, admin: Any) -> None:
    assert_problem(merge(admin, firm.distributor, firm.customer), 409)
    body = assert_problem(merge(admin, firm.principal_a, firm.principal_b), 409)
    assert body["code"] == "merge_principal"


def test_same_email_contacts_merge_with_their_organizations(firm: Firm, admin: Any) -> None:
    t = firm.tenant
    survivor = f.CustomerFactory(tenant=t, name="Corner Deli")
    merged = f.CustomerFactory(tenant=t, name="CORNER – DELI")
    keeper = f.ContactFactory(tenant=t, organization=survivor, email="pat@deli.test")
    twin = f.ContactFactory(tenant=t, organization=merged, email="PAT@deli.test")
    call = f.InteractionFactory(tenant=t, organization=merged, contact=twin)
    opportunity = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=merged)
    link = f.OpportunityContactFactory(tenant=t, opportunity=opportunity, contact=twin)
    ok(merge(admin, survivor, merged))
    assert Contact.objects.get(pk=twin.pk).merged_into_id == keeper.pk
    moved = Interaction.objects.get(pk=call.pk)
    assert (moved.organization_id, moved.contact_id) == (survivor.pk, keeper.pk)
    assert OpportunityContact.objects.get(pk=link.pk).contact_id == keeper.pk
    assert Opportunity.objects.get(pk=opportunity.pk).customer_id == survivor.pk


def test_bad_bodies_are_400s(firm: Firm, admin: Any) -> None:
    url = f"{ORGANIZATIONS}{firm.customer.pk}/merge/"
    assert_problem(admin.post(url, {"merge": []}, format="json"), 400, field="merge")
    assert_problem(admin.post(url, {"merge": [firm.customer.pk]}, format="json"), 400, field="merge")
    assert_problem(admin.post(url, {"merge": [5, 5]}, format="json"), 400, field="merge")
    assert_problem(admin.post(url, {"merge": ["x"]}, format="json"), 400)


# --- who may merge ----------------------------------------------------------------------------------


def test_viewers_cannot_merge(firm: Firm, viewer: Any) -> None:
    merged = f.CustomerFactory(tenant=firm.tenant, name="Acme Bistro Inc")
    assert_problem(merge(viewer, firm.customer, merged), 403)
    assert Organization.objects.get(pk=merged.pk).deleted_at is None


def test_another_firms_ids_are_404s(firm: Firm, other_firm: Firm, admin: Any) -> None:
    assert_problem(merge(admin, firm.customer, other_firm.customer), 404)
    assert_problem(merge(admin, other_firm.customer, firm.customer), 404)
    assert Organization.objects.get(pk=other_firm.customer.pk).deleted_at is None


def test_a_manager_merges_what_their_book_reaches(firm: Firm, manager: Any) -> None:
    t = firm.tenant
    survivor = f.CustomerFactory(tenant=t, name="Corner Deli")
    merged = f.CustomerFactory(tenant=t, name="Corner-Deli")
    mine = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=merged)
    ok(merge(manager, survivor, merged))
    assert Opportunity.objects.get(pk=mine.pk).customer_id == survivor.pk


def test_a_manager_cannot_merge_across_books(firm: Firm, manager: Any) -> None:
    t = firm.tenant
    survivor = f.CustomerFactory(tenant=t, name="Corner Deli")
    merged = f.CustomerFactory(tenant=t, name="Corner-Deli")
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=merged)
    theirs = f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=merged)
    body = assert_problem(merge(manager, survivor, merged), 409)
    assert body["code"] == "merge_out_of_reach"
    assert Opportunity.objects.get(pk=theirs.pk).customer_id == merged.pk
    assert Organization.objects.get(pk=merged.pk).deleted_at is None  # rolled back whole
    # A principal outside the book does not exist for them.
    contact = f.ContactFactory(tenant=t, organization=firm.principal_b)
    other = f.ContactFactory(tenant=t, organization=firm.principal_b)
    assert_problem(merge(manager, contact, other, url=CONTACTS), 404)
    mine = f.ContactFactory(tenant=t, organization=firm.principal_a)
    assert_problem(merge(manager, mine, other, url=CONTACTS), 404)


# --- contact merges -------------------------------------------------------------------------------


def test_contact_merge_moves_interactions_links_and_reports(firm: Firm, manager: Any) -> None:
    t = firm.tenant
    survivor = f.ContactFactory(tenant=t, organization=firm.customer, first_name="Pat", last_name="Lee")
    merged = f.ContactFactory(tenant=t, organization=firm.customer, first_name="PAT", last_name="lee")
    report = f.ContactFactory(tenant=t, organization=firm.customer, reports_to=merged)
    call = f.InteractionFactory(tenant=t, organization=firm.customer, contact=merged)
    opportunity = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    kept = f.OpportunityContactFactory(tenant=t, opportunity=opportunity, contact=survivor)
    twin = f.OpportunityContactFactory(tenant=t, opportunity=opportunity, contact=merged)
    ok(merge(manager, survivor, merged, url=CONTACTS))
    assert Interaction.objects.get(pk=call.pk).contact_id == survivor.pk
    assert Contact.objects.get(pk=report.pk).reports_to_id == survivor.pk
    assert OpportunityContact.objects.get(pk=kept.pk).deleted_at is None
    assert OpportunityContact.objects.get(pk=twin.pk).deleted_at is not None  # the same link: folded
    assert Contact.objects.get(pk=merged.pk).merged_into_id == survivor.pk
    history = ok(manager.get(f"{CONTACTS}{survivor.pk}/history/"))["results"][0]
    assert history["operation"] == "merge"


def test_contacts_of_two_organizations_are_a_409(firm: Firm, admin: Any) -> None:
    a = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    b = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    body = assert_problem(merge(admin, a, b, url=CONTACTS), 409)
    assert body["code"] == "merge_organizations_differ"


@pytest.mark.parametrize("url", [ORGANIZATIONS, CONTACTS])
def test_a_merged_record_cannot_be_restored(firm: Firm, admin: Any, url: str) -> None:
    survivor: Any
    merged: Any
    if url == ORGANIZATIONS:
        survivor, merged = firm.customer, f.CustomerFactory(tenant=firm.tenant, name="Acme Bistro Inc")
    else:
        survivor = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
        merged = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    ok(merge(admin, survivor, merged, url=url))
    body = assert_problem(admin.post(f"{url}{merged.pk}/restore/"), 409)
    assert body["merged_into"] == survivor.pk
