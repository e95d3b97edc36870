"""Lists and pages cost the same number of queries whatever the number of rows (no N+1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import models

from contacts.models import Contact
from crm.models import Membership, PrincipalAssignment, Role, User
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from samples.models import Sample
from tasks.models import Task
from tests import factories as f
from tests.admin.support import count_queries, signed_in, url
from tests.conftest import Firm

Builder = Callable[[Firm, int], None]


def _customers(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.CustomerFactory(tenant=firm.tenant, account_manager=firm.manager)


def _contacts(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.ContactFactory(tenant=firm.tenant, organization=firm.customer)


def _products(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)


def _product_items(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.ProductDistributorFactory(
            tenant=firm.tenant, product__principal=firm.principal_a, distributor=firm.distributor
        )


def _opportunities(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.OpportunityFactory(
            tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, owner=firm.manager
        )


def _opportunity_products(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.OpportunityProductFactory(tenant=firm.tenant, opportunity__principal=firm.principal_a)


def _opportunity_contacts(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.OpportunityContactFactory(tenant=firm.tenant, opportunity__principal=firm.principal_a)


def _interactions(firm: Firm, n: int) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    for _ in range(n):
        f.InteractionFactory(
            tenant=firm.tenant,
            organization=firm.customer,
            contact=contact,
            opportunity=opportunity,
            user=firm.manager,
        )


def _samples(firm: Firm, n: int) -> None:
    for _ in range(n):
        interaction = f.SampleInteractionFactory(
            tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a, user=firm.manager
        )
        f.SampleFactory(tenant=firm.tenant, interaction=interaction)
        f.SampleLineFactory(tenant=firm.tenant, interaction=interaction, product__principal=firm.principal_a)


def _tasks(firm: Firm, n: int) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    for _ in range(n):
        f.TaskFactory(
            tenant=firm.tenant, organization=firm.customer, opportunity=opportunity, assignee=firm.admin
        )


def _authorizations(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.DistributorAuthorizationFactory(tenant=firm.tenant, principal=firm.principal_a)


def _customer_distributors(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.CustomerDistributorFactory(tenant=firm.tenant, distributor=firm.distributor)


def _members(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.MembershipFactory(tenant=firm.tenant, role=Role.VIEWER)


def _assignments(firm: Firm, n: int) -> None:
    for _ in range(n):
        f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.other_manager)


def _sales_facts(firm: Firm, n: int) -> None:
    for _ in range(n):
        SalesFact.objects.create(
            tenant=firm.tenant, distributor=f.DistributorFactory(tenant=firm.tenant),
            product=f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a),
            customer=f.CustomerFactory(tenant=firm.tenant), principal_id=0, period_kind="week",
            period_start=dt.date(2026, 3, 2), cases=Decimal(1),
        )  # fmt: skip


def _sales_unmatched(firm: Firm, n: int) -> None:
    for i in range(n):
        SalesUnmatched.objects.create(
            tenant=firm.tenant, created_by=firm.admin, distributor=f.DistributorFactory(tenant=firm.tenant),
            product=f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a),
            ship_to_name=f"Deli {i}", period_kind="week", period_start=dt.date(2026, 3, 2), cases=Decimal(1),
        )  # fmt: skip


def _aliases(firm: Firm, n: int) -> None:
    for _ in range(n):
        CustomerAlias.objects.create(
            tenant=firm.tenant, distributor=f.DistributorFactory(tenant=firm.tenant), kind="ship_to_name",
            value="Corner Deli", customer=f.CustomerFactory(tenant=firm.tenant), created_by=firm.manager,
        )  # fmt: skip


def _mappings(firm: Firm, n: int) -> None:
    for _ in range(n):
        ColumnMapping.objects.create(
            tenant=firm.tenant, distributor=f.DistributorFactory(tenant=firm.tenant),
            mapping={"Cases": "cases"}, updated_by=firm.manager,
        )  # fmt: skip


BUILDERS: dict[type[models.Model], Builder] = {
    Organization: _customers,
    Contact: _contacts,
    Product: _products,
    ProductDistributor: _product_items,
    Opportunity: _opportunities,
    OpportunityProduct: _opportunity_products,
    OpportunityContact: _opportunity_contacts,
    Interaction: _interactions,
    Sample: _samples,
    Task: _tasks,
    DistributorAuthorization: _authorizations,
    CustomerDistributor: _customer_distributors,
    User: _members,
    Membership: _members,
    PrincipalAssignment: _assignments,
    SalesFact: _sales_facts,
    SalesUnmatched: _sales_unmatched,
    CustomerAlias: _aliases,
    ColumnMapping: _mappings,
}


@pytest.mark.parametrize("model", list(BUILDERS), ids=lambda m: m._meta.label)
def test_changelist_queries_do_not_grow_with_rows(firm: Firm, model: type[models.Model]) -> None:
    client = signed_in(firm.admin)
    BUILDERS[model](firm, 5)
    few = count_queries(client, url(model))
    BUILDERS[model](firm, 25)
    many = count_queries(client, url(model))
    assert many == few


def test_changelist_stays_within_a_fixed_budget(firm: Firm) -> None:
    _interactions(firm, 30)
    # session, user, two RLS set-ups, count, page, principal filter, date hierarchy (range + years)…
    assert count_queries(signed_in(firm.manager), url(Interaction)) <= 12


def test_change_page_with_inlines_does_not_grow_with_rows(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)

    def add_rows(n: int) -> None:
        for _ in range(n):
            contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
            f.InteractionFactory(
                tenant=firm.tenant,
                organization=firm.customer,
                contact=contact,
                opportunity=opportunity,
                user=firm.manager,
            )
            f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity, contact=contact)
            f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity)

    client = signed_in(firm.manager)
    path = url(Opportunity, "change", opportunity.pk)
    add_rows(2)
    few = count_queries(client, path)
    add_rows(8)
    assert count_queries(client, path) == few


def test_organization_page_with_contacts_does_not_grow_with_rows(firm: Firm) -> None:
    client = signed_in(firm.manager)
    path = url(Organization, "change", firm.principal_a.pk)
    _authorizations(firm, 2)
    f.ProductFactory.create_batch(2, tenant=firm.tenant, principal=firm.principal_a)
    f.ContactFactory.create_batch(2, tenant=firm.tenant, organization=firm.principal_a)
    few = count_queries(client, path)
    _authorizations(firm, 10)
    f.ProductFactory.create_batch(10, tenant=firm.tenant, principal=firm.principal_a)
    f.ContactFactory.create_batch(10, tenant=firm.tenant, organization=firm.principal_a)
    assert count_queries(client, path) == few
