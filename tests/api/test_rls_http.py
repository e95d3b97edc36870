"""Row level security seen through HTTP: lists, details, writes, expansions, search and filters.

Two firms, each with a row per resource in three scopes: "shared" (no principal), "a" (principal_a: the
manager's and the viewer's book) and "b" (principal_b: the other manager's book). What a role may see:

|                          | admin          | manager        | viewer                                |
|--------------------------|----------------|----------------|---------------------------------------|
| own firm, shared         | yes            | yes            | organizations and their links only    |
| own firm, principal_a    | yes            | yes            | yes (read only)                       |
| own firm, principal_b    | yes            | —              | —                                     |
| other firm               | —              | —              | —                                     |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests import factories as f
from tests.api.support import API, BUSINESS_RESOURCES, RESOURCES, assert_problem, ok, result_ids
from tests.conftest import Firm, client_for

Rows = dict[str, dict[str, int]]  # resource → scope label → id


def sample(tenant: Any, customer: Any, principal: Any, product: Any) -> int:
    """A sample of `principal`'s `product` at `customer`, with its line."""
    interaction = f.SampleInteractionFactory(
        tenant=tenant,
        organization=customer,
        principal=principal,
        subject=f"{tenant.name} {product.name} drop",
    )
    f.SampleLineFactory(
        tenant=tenant,
        interaction=f.SampleFactory(tenant=tenant, interaction=interaction).interaction,
        product=product,
    )
    return int(interaction.samples.get().pk)


def populate(firm: Firm) -> tuple[Rows, dict[str, Any]]:
    t = firm.tenant
    opp_a = f.OpportunityFactory(
        tenant=t, name=f"{t.name} Fries Placement", principal=firm.principal_a, customer=firm.customer
    )
    opp_b = f.OpportunityFactory(
        tenant=t, name=f"{t.name} Secret Placement", principal=firm.principal_b, customer=firm.customer
    )
    product_a = f.ProductFactory(
        tenant=t, principal=firm.principal_a, name=f"{t.name} Fries", sku=f"{t.name}A1"
    )
    product_b = f.ProductFactory(
        tenant=t, principal=firm.principal_b, name=f"{t.name} Secret Sauce", sku=f"{t.name}B1"
    )
    contact_shared = f.ContactFactory(
        tenant=t, organization=firm.customer, first_name="Shared", last_name=f"{t.name}chef"
    )
    contact_a = f.ContactFactory(
        tenant=t, organization=firm.principal_a, first_name="Alpha", last_name=f"{t.name}rep"
    )
    contact_b = f.ContactFactory(
        tenant=t, organization=firm.principal_b, first_name="Bravo", last_name=f"{t.name}rep"
    )
    rows: Rows = {
        "organizations": {"shared": firm.customer.pk, "a": firm.principal_a.pk, "b": firm.principal_b.pk},
        "contacts": {"shared": contact_shared.pk, "a": contact_a.pk, "b": contact_b.pk},
        "products": {"a": product_a.pk, "b": product_b.pk},
        "opportunities": {"a": opp_a.pk, "b": opp_b.pk},
        "interactions": {
            "shared": f.InteractionFactory(
                tenant=t, organization=firm.customer, subject=f"{t.name} general visit"
            ).pk,
            "a": f.InteractionFactory(
                tenant=t, organization=firm.customer, opportunity=opp_a, subject=f"{t.name} fries tasting"
            ).pk,
            "b": f.InteractionFactory(
                tenant=t, organization=firm.customer, opportunity=opp_b, subject=f"{t.name} secret tasting"
            ).pk,
        },
        "tasks": {
            "shared": f.TaskFactory(
                tenant=t, organization=firm.customer, assignee=firm.manager, title=f"{t.name} call back"
            ).pk,
            "a": f.TaskFactory(
                tenant=t, organization=firm.customer, opportunity=opp_a, assignee=firm.manager, title="x"
            ).pk,
            "b": f.TaskFactory(
                tenant=t, organization=firm.customer, opportunity=opp_b, assignee=firm.admin, title="y"
            ).pk,
        },
        "distributor-authorizations": {
            "a": f.DistributorAuthorizationFactory(
                tenant=t, distributor=firm.distributor, principal=firm.principal_a
            ).pk,
            "b": f.DistributorAuthorizationFactory(
                tenant=t, distributor=firm.distributor, principal=firm.principal_b
            ).pk,
        },
        "customer-distributors": {
            "shared": f.CustomerDistributorFactory(
                tenant=t, customer=firm.customer, distributor=firm.distributor
            ).pk
        },
        "product-distributors": {
            "a": f.ProductDistributorFactory(tenant=t, product=product_a, distributor=firm.distributor).pk,
            "b": f.ProductDistributorFactory(tenant=t, product=product_b, distributor=firm.distributor).pk,
        },
        "opportunity-products": {
            "a": f.OpportunityProductFactory(tenant=t, opportunity=opp_a, product=product_a).pk,
            "b": f.OpportunityProductFactory(tenant=t, opportunity=opp_b, product=product_b).pk,
        },
        "opportunity-contacts": {
            "a": f.OpportunityContactFactory(tenant=t, opportunity=opp_a, contact=contact_shared).pk,
            "b": f.OpportunityContactFactory(tenant=t, opportunity=opp_b, contact=contact_shared).pk,
        },
        "samples": {
            scope: sample(t, firm.customer, principal, product)
            for scope, principal, product in (
                ("a", firm.principal_a, product_a),
                ("b", firm.principal_b, product_b),
            )
        },
    }
    named = {
        "opp_a": opp_a,
        "opp_b": opp_b,
        "product_a": product_a,
        "product_b": product_b,
        "contact_b": contact_b,
    }
    return rows, named


@dataclass
class World:
    firm: Firm
    other: Firm
    rows: Rows
    other_rows: Rows
    named: dict[str, Any]
    other_named: dict[str, Any]


@pytest.fixture
def world(firm: Firm, other_firm: Firm) -> World:
    rows, named = populate(firm)
    other_rows, other_named = populate(other_firm)
    return World(firm, other_firm, rows, other_rows, named, other_named)


# Scopes each role sees in its own firm; nothing of the other firm, ever.
VIEWER_SEES_SHARED = {"organizations", "customer-distributors"}


def visible_scopes(role: str, resource: str) -> set[str]:
    if role == "admin":
        return {"shared", "a", "b"}
    if role == "manager":
        return {"shared", "a"}
    return {"a", "shared"} if resource in VIEWER_SEES_SHARED else {"a"}


def split(world: World, role: str, resource: str) -> tuple[set[int], set[int]]:
    """(ids the role must see, ids that must not exist for it) among the rows made for `resource`."""
    scopes = visible_scopes(role, resource)
    own = world.rows[resource]
    visible = {row_id for scope, row_id in own.items() if scope in scopes}
    hidden = {row_id for scope, row_id in own.items() if scope not in scopes} | set(
        world.other_rows[resource].values()
    )
    return visible, hidden


ROLES = ["admin", "manager", "viewer"]
# Books (principal-assignments) follow their own rule, own rows only: see test_principal_assignments.py.
NAMES = [r.name for r in BUSINESS_RESOURCES if r.name != "principal-assignments"]


@pytest.mark.parametrize("resource", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_rows_the_role_may_see(world, role, resource):
    client = client_for(getattr(world.firm, role))
    visible, hidden = split(world, role, resource)
    listed = set(result_ids(client, f"{API}/{resource}/?page_size=200"))
    assert visible <= listed
    assert not listed & hidden


@pytest.mark.parametrize("resource", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_detail_of_a_hidden_row_is_404_and_of_a_visible_row_200(world, role, resource):
    client = client_for(getattr(world.firm, role))
    visible, hidden = split(world, role, resource)
    for row_id in visible:
        ok(client.get(f"{API}/{resource}/{row_id}/"))
    for row_id in hidden:
        assert_problem(client.get(f"{API}/{resource}/{row_id}/"), 404)


@pytest.mark.parametrize("resource", NAMES)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_update_and_delete_of_a_hidden_row_are_404_and_change_nothing(world, role, resource):
    client = client_for(getattr(world.firm, role))
    _, hidden = split(world, role, resource)
    for row_id in hidden:
        assert_problem(client.patch(f"{API}/{resource}/{row_id}/", {"notes": "hacked"}), 404)
        assert_problem(client.put(f"{API}/{resource}/{row_id}/", {}), 404)
        assert_problem(client.delete(f"{API}/{resource}/{row_id}/"), 404)
    owners = {
        client_for(world.firm.admin): world.rows[resource],
        client_for(world.other.admin): world.other_rows[resource],
    }
    for owner, rows in owners.items():
        for row_id in rows.values():
            body = ok(owner.get(f"{API}/{resource}/{row_id}/"))
            assert body.get("notes", "") != "hacked"


def test_manager_cannot_see_an_opportunity_outside_the_book_anywhere(world, manager):
    opp_b = world.named["opp_b"]
    assert_problem(manager.get(f"{API}/opportunities/{opp_b.pk}/"), 404)
    assert opp_b.pk not in result_ids(manager, f"{API}/opportunities/")
    assert result_ids(manager, f"{API}/opportunities/?search=secret") == []
    assert result_ids(manager, f"{API}/opportunities/?principal={world.firm.principal_b.pk}") == []
    assert_problem(
        manager.post(f"{API}/opportunities/{opp_b.pk}/change-stage/", {"stage": "initial_outreach"}), 404
    )
    assert ok(client_for(world.firm.admin).get(f"{API}/opportunities/{opp_b.pk}/"))["stage"] == "new_lead"


@pytest.mark.parametrize(
    ("resource", "search"),
    [
        ("opportunities", "secret"),
        ("products", "secret sauce"),
        ("interactions", "secret tast"),
        ("contacts", "bravo"),
        ("organizations", "acme principal b"),
        ("organizations", "rival"),
        ("contacts", "rivalchef"),
        ("products", "rivala1"),
    ],
)
def test_search_never_finds_hidden_rows(world, manager, resource, search):
    assert result_ids(manager, f"{API}/{resource}/?search={search}") == []


def test_search_finds_the_same_kind_of_row_in_the_book(world, manager):
    assert result_ids(manager, f"{API}/opportunities/?search=fries") == [world.named["opp_a"].pk]
    assert result_ids(manager, f"{API}/products/?search=acmea1") == [world.named["product_a"].pk]


def test_filter_by_a_hidden_id_returns_an_empty_list(world, manager):
    b, other = world.firm.principal_b.pk, world.other
    for query in (
        f"opportunities/?principal={b}",
        f"products/?principal={b}",
        f"interactions/?principal={b}",
        f"distributor-authorizations/?principal={b}",
        f"contacts/?organization={b}",
        f"opportunity-products/?opportunity={world.named['opp_b'].pk}",
        f"opportunity-contacts/?opportunity={world.named['opp_b'].pk}",
        f"product-distributors/?product={world.named['product_b'].pk}",
        f"opportunities/?customer={other.customer.pk}",
        f"interactions/?organization={other.customer.pk}",
        f"contacts/?organization={other.customer.pk}",
        f"customer-distributors/?customer={other.customer.pk}",
        f"organizations/?parent={other.customer.pk}",
    ):
        assert result_ids(manager, f"{API}/{query}") == [], query


def test_admin_filter_by_another_firms_id_returns_an_empty_list(world, admin):
    other = world.other
    assert result_ids(admin, f"{API}/opportunities/?principal={other.principal_a.pk}") == []
    assert result_ids(admin, f"{API}/contacts/?organization={other.customer.pk}") == []


def test_expand_embeds_only_rows_in_the_book(world, manager):
    rows = ok(manager.get(f"{API}/opportunities/?expand=principal,customer"))["results"]
    assert [r["id"] for r in rows] == [world.named["opp_a"].pk]
    assert rows[0]["principal"]["name"] == world.firm.principal_a.name
    interactions = ok(manager.get(f"{API}/interactions/?expand=principal,opportunity,organization"))[
        "results"
    ]
    assert {(r["principal"] or {}).get("id") for r in interactions} == {None, world.firm.principal_a.pk}
    assert {r["organization"]["id"] for r in interactions} == {world.firm.customer.pk}
    products = ok(manager.get(f"{API}/product-distributors/?expand=product"))["results"]
    assert {r["product"]["principal"] for r in products} == {world.firm.principal_a.pk}


def test_expand_never_reaches_another_firm(world, admin):
    for resource in RESOURCES:
        if not resource.expand:
            continue
        body = ok(admin.get(f"{resource.url}?expand={resource.expand}&page_size=200"))
        text = str(body)
        assert "Rival" not in text, resource.name


def error_without_id(problem: dict[str, Any], row_id: int) -> tuple[str | None, str | None, str]:
    """The problem's first error, with the offending id blanked out so two answers can be compared."""
    error = problem["errors"][0]
    return error["field"], error["code"], error["detail"].replace(str(row_id), "<id>")


UNKNOWN_ID = 987654321


@pytest.mark.parametrize("field", ["customer", "distributor"])
def test_reference_to_another_firms_row_gets_the_same_400_as_a_random_id(world, manager, field):
    body = {"name": "Leak probe", "principal": world.firm.principal_a.pk, "customer": world.firm.customer.pk}
    foreign_id = getattr(world.other, field).pk
    foreign = assert_problem(
        manager.post(f"{API}/opportunities/", {**body, field: foreign_id}), 400, field=field
    )
    unknown = assert_problem(
        manager.post(f"{API}/opportunities/", {**body, field: UNKNOWN_ID}), 400, field=field
    )
    assert error_without_id(foreign, foreign_id) == error_without_id(unknown, UNKNOWN_ID)
    assert error_without_id(foreign, foreign_id)[1] == "does_not_exist"
    assert "Leak probe" not in str(ok(client_for(world.firm.admin).get(f"{API}/opportunities/")))


def test_principal_outside_the_book_gets_the_same_400_as_a_random_id(world, manager):
    body = {"name": "Leak probe", "customer": world.firm.customer.pk}
    b = world.firm.principal_b.pk
    hidden = assert_problem(manager.post(f"{API}/opportunities/", {**body, "principal": b}), 400)
    unknown = assert_problem(manager.post(f"{API}/opportunities/", {**body, "principal": UNKNOWN_ID}), 400)
    assert error_without_id(hidden, b) == error_without_id(unknown, UNKNOWN_ID)
    assert error_without_id(hidden, b)[:2] == ("principal", "does_not_exist")


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("contacts", lambda w: {"organization": w.firm.principal_b.pk, "first_name": "Probe"}),
        ("contacts", lambda w: {"organization": w.other.customer.pk, "first_name": "Probe"}),
        ("products", lambda w: {"principal": w.firm.principal_b.pk, "name": "Probe", "sku": "P1"}),
        (
            "interactions",
            lambda w: {
                "type": "call",
                "occurred_at": "2026-11-20T10:00:00Z",
                "subject": "Probe",
                "organization": w.firm.customer.pk,
                "opportunity": w.named["opp_b"].pk,
            },
        ),
        (
            "opportunity-products",
            lambda w: {"opportunity": w.named["opp_b"].pk, "product": w.named["product_b"].pk},
        ),
        (
            "opportunity-products",
            lambda w: {"opportunity": w.named["opp_a"].pk, "product": w.named["product_b"].pk},
        ),
        (
            "opportunity-contacts",
            lambda w: {"opportunity": w.named["opp_a"].pk, "contact": w.named["contact_b"].pk},
        ),
        (
            "distributor-authorizations",
            lambda w: {"distributor": w.firm.distributor.pk, "principal": w.other.principal_a.pk},
        ),
        (
            "customer-distributors",
            lambda w: {"customer": w.firm.customer.pk, "distributor": w.other.distributor.pk},
        ),
        (
            "product-distributors",
            lambda w: {"product": w.named["product_b"].pk, "distributor": w.firm.distributor.pk},
        ),
    ],
)
def test_manager_cannot_write_rows_that_point_at_hidden_rows(world, manager, resource, body):
    payload = body(world)
    problem = assert_problem(manager.post(f"{API}/{resource}/", payload), 400)
    assert {e["code"] for e in problem["errors"]} == {"does_not_exist"}


def test_manager_cannot_repoint_a_visible_row_at_a_hidden_one(world, manager):
    interaction = world.rows["interactions"]["a"]
    response = manager.patch(f"{API}/interactions/{interaction}/", {"opportunity": world.named["opp_b"].pk})
    assert_problem(response, 400, field="opportunity", code="does_not_exist")
    opportunity = world.named["opp_a"].pk
    response = manager.patch(f"{API}/opportunities/{opportunity}/", {"customer": world.other.customer.pk})
    assert_problem(response, 400, field="customer", code="does_not_exist")


@pytest.mark.parametrize("resource", NAMES)
def test_viewer_is_read_only(world, viewer, resource):
    row_id = world.rows[resource]["a" if "a" in world.rows[resource] else "shared"]
    assert_problem(viewer.post(f"{API}/{resource}/", {}), 403)
    assert_problem(viewer.patch(f"{API}/{resource}/{row_id}/", {}), 403)
    assert_problem(viewer.put(f"{API}/{resource}/{row_id}/", {}), 403)
    assert_problem(viewer.delete(f"{API}/{resource}/{row_id}/"), 403)
    ok(viewer.get(f"{API}/{resource}/{row_id}/"))


def test_viewer_cannot_change_a_stage(world, viewer):
    opp_a = world.named["opp_a"].pk
    assert_problem(
        viewer.post(f"{API}/opportunities/{opp_a}/change-stage/", {"stage": "initial_outreach"}), 403
    )


def test_viewer_sees_shared_organizations_but_not_shared_contacts_or_interactions(world, viewer):
    firm = world.firm
    organizations = set(result_ids(viewer, f"{API}/organizations/"))
    assert {firm.customer.pk, firm.distributor.pk, firm.principal_a.pk} <= organizations
    assert firm.principal_b.pk not in organizations
    assert result_ids(viewer, f"{API}/contacts/") == [world.rows["contacts"]["a"]]
    # (calls: the samples' interactions of principal A are the viewer's too)
    assert result_ids(viewer, f"{API}/interactions/?type=call") == [world.rows["interactions"]["a"]]
    assert_problem(viewer.get(f"{API}/contacts/{world.rows['contacts']['shared']}/"), 404)
    assert_problem(viewer.get(f"{API}/interactions/{world.rows['interactions']['shared']}/"), 404)


def test_admin_sees_every_principal_of_the_firm_and_nothing_of_the_other(world, admin):
    principals = set(result_ids(admin, f"{API}/organizations/?type=principal"))
    assert principals == {world.firm.principal_a.pk, world.firm.principal_b.pk}
    opportunities = set(result_ids(admin, f"{API}/opportunities/"))
    assert opportunities == {world.named["opp_a"].pk, world.named["opp_b"].pk}
    assert_problem(admin.get(f"{API}/organizations/{world.other.principal_a.pk}/"), 404)


def test_other_firms_manager_sees_only_their_own_firm(world):
    rival = client_for(world.other.manager)
    names = {o["name"] for o in ok(rival.get(f"{API}/organizations/"))["results"]}
    assert names == {"Rival Principal A", "Rival Distribution", "Rival Bistro"}


def test_names_taken_in_another_firm_are_free_here(world, manager, admin):
    ok(manager.post(f"{API}/organizations/", {"name": "Rival Bistro", "type": "customer"}), 201)
    ok(admin.post(f"{API}/organizations/", {"name": "Rival Principal A", "type": "principal"}), 201)
    sku = ok(client_for(world.other.admin).get(f"{API}/products/{world.other_rows['products']['a']}/"))["sku"]
    ok(
        manager.post(
            f"{API}/products/", {"principal": world.firm.principal_a.pk, "name": "Same SKU", "sku": sku}
        ),
        201,
    )


def test_a_manager_writes_shared_and_book_rows(world, manager):
    ok(manager.patch(f"{API}/organizations/{world.firm.customer.pk}/", {"priority": "A"}))
    ok(manager.patch(f"{API}/opportunities/{world.named['opp_a'].pk}/", {"probability": 80}))
    ok(manager.patch(f"{API}/contacts/{world.rows['contacts']['shared']}/", {"title": "Chef"}))


def test_the_book_follows_assignments_from_one_request_to_the_next(world, admin, manager):
    opp_b = world.named["opp_b"].pk
    assert_problem(manager.get(f"{API}/opportunities/{opp_b}/"), 404)
    ok(
        admin.post(
            f"{API}/principal-assignments/",
            {"user": world.firm.manager.pk, "principal": world.firm.principal_b.pk},
        ),
        201,
    )
    ok(manager.get(f"{API}/opportunities/{opp_b}/"))
