"""organizations.services called as plain functions, as a user (runtime role, RLS applies)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact
from crm import rls
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.services import organization_blocking_dependents, organization_dependents
from tests import factories as f
from tests.conftest import Firm


def ids(queryset: QuerySet[Any]) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_dependents_are_the_contacts_and_every_opportunity_the_organization_is_part_of_children_first(
    firm: Firm,
) -> None:
    t = firm.tenant
    as_customer = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    also_as_customer = f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=firm.customer)
    f.OpportunityFactory(tenant=t, principal=firm.principal_a)  # another customer's
    line = f.OpportunityProductFactory(tenant=t, opportunity=as_customer)
    involved = f.OpportunityContactFactory(tenant=t, opportunity=as_customer)
    contact = involved.contact
    f.ContactFactory(tenant=t, organization=firm.distributor)

    with rls.acting_as(firm.admin.pk):
        products, contacts_on_deals, opportunities, contacts = organization_dependents(
            organization=firm.customer
        )
        assert (products.model, contacts_on_deals.model, opportunities.model, contacts.model) == (
            OpportunityProduct,
            OpportunityContact,
            Opportunity,
            Contact,
        )
        assert ids(products) == {line.pk}
        assert ids(contacts_on_deals) == {involved.pk}
        assert ids(opportunities) == {as_customer.pk, also_as_customer.pk}
        assert ids(contacts) == {contact.pk}


def test_a_principals_or_a_distributors_dependents_are_the_opportunities_it_is_part_of(firm: Firm) -> None:
    t = firm.tenant
    of_a = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    delivered = f.OpportunityFactory(tenant=t, principal=firm.principal_b, distributor=firm.distributor)

    with rls.acting_as(firm.admin.pk):
        _, _, of_principal, _ = organization_dependents(organization=firm.principal_a)
        _, _, of_distributor, _ = organization_dependents(organization=firm.distributor)
        assert ids(of_principal) == {of_a.pk}
        assert ids(of_distributor) == {delivered.pk}


def test_dependents_include_rows_already_soft_deleted_so_a_restore_brings_them_back(firm: Firm) -> None:
    gone = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, deleted_at=timezone.now())
    with rls.acting_as(firm.admin.pk):
        *_, contacts = organization_dependents(organization=firm.customer)
        assert ids(contacts) == {gone.pk}


def test_a_managers_dependents_leave_out_the_other_books_opportunities(firm: Firm) -> None:
    t = firm.tenant
    mine = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    theirs = f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=firm.customer)
    f.OpportunityProductFactory(tenant=t, opportunity=theirs)

    with rls.acting_as(firm.manager.pk):
        products, _, opportunities, _ = organization_dependents(organization=firm.customer)
        assert ids(opportunities) == {mine.pk}
        assert ids(products) == set()


def test_dependents_of_another_firms_organization_are_empty(firm: Firm, other_firm: Firm) -> None:
    f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    f.OpportunityFactory(
        tenant=other_firm.tenant, principal=other_firm.principal_a, customer=other_firm.customer
    )
    with rls.acting_as(firm.admin.pk):
        assert all(
            not queryset.exists() for queryset in organization_dependents(organization=other_firm.customer)
        )


def test_blocking_dependents_count_live_contacts_and_open_opportunities_only(firm: Firm) -> None:
    t = firm.tenant
    f.ContactFactory(tenant=t, organization=firm.customer)
    f.ContactFactory(tenant=t, organization=firm.customer)
    f.ContactFactory(tenant=t, organization=firm.customer, deleted_at=timezone.now())
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=firm.customer, stage="demo_scheduled")
    f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=firm.customer, stage="closed_won", win_reason="Chef"
    )
    f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=firm.customer, stage="closed_lost", loss_reason="Price"
    )
    f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=firm.customer, deleted_at=timezone.now()
    )

    with rls.acting_as(firm.admin.pk):
        assert organization_blocking_dependents(organization=firm.customer) == {
            "contacts": 2,
            "open_opportunities": 2,
        }


def test_blocking_dependents_count_a_distributors_open_deliveries_in_two_queries(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t = firm.tenant
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, distributor=firm.distributor)
    f.OpportunityFactory(tenant=t, principal=firm.principal_b, distributor=firm.distributor)
    with rls.acting_as(firm.admin.pk), django_assert_num_queries(2):
        counts = organization_blocking_dependents(organization=firm.distributor)
    assert counts == {"contacts": 0, "open_opportunities": 2}


def test_blocking_dependents_count_only_what_the_caller_sees(firm: Firm) -> None:
    """Counts leak nothing: the other book's open opportunity does not exist for this manager, and shared
    contacts do not exist for a viewer."""
    t = firm.tenant
    f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=firm.customer)
    f.ContactFactory(tenant=t, organization=firm.customer)

    with rls.acting_as(firm.manager.pk):
        assert organization_blocking_dependents(organization=firm.customer) == {
            "contacts": 1,
            "open_opportunities": 0,
        }
    with rls.acting_as(firm.viewer.pk):
        assert organization_blocking_dependents(organization=firm.customer) == {
            "contacts": 0,
            "open_opportunities": 0,
        }
    with rls.acting_as(firm.other_manager.pk):
        assert organization_blocking_dependents(organization=firm.customer) == {
            "contacts": 1,
            "open_opportunities": 1,
        }
