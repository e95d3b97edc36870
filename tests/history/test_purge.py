"""Rows are never hard-deleted by a plain DELETE, whoever runs it; `manage.py purge` is the one way
rows soft-deleted long enough ago leave the table, each leaving a 'purge' history entry."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from contacts.models import Contact
from crm.models import User
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import Organization
from tests import factories as f
from tests.admin.support import make_sample
from tests.api.support import API
from tests.conftest import Firm, client_for
from tests.history.support import entries
from tests.integrity.sql import run

SAMPLE_TABLES = {
    "organization": lambda s: s.firm.customer.pk,
    "contact": lambda s: s.contact.pk,
    "product": lambda s: s.product.pk,
    "product_distributor": lambda s: s.product_distributor.pk,
    "opportunity": lambda s: s.opportunity.pk,
    "opportunity_product": lambda s: s.opportunity_product.pk,
    "opportunity_contact": lambda s: s.opportunity_contact.pk,
    "interaction": lambda s: s.interaction.pk,
    "distributor_authorization": lambda s: s.authorization.pk,
    "customer_distributor": lambda s: s.customer_distributor.pk,
}


def _exists(table: str, pk: int) -> bool:
    return bool(run(None, f"SELECT 1 FROM {table} WHERE id = %s", [pk]))


@pytest.mark.parametrize("who", ["admin", "owner"])
@pytest.mark.parametrize("table", SAMPLE_TABLES)
def test_a_hard_delete_in_sql_is_refused_with_sqlstate_23001(firm: Firm, table: str, who: str) -> None:
    pk = SAMPLE_TABLES[table](make_sample(firm))
    user: User | None = None if who == "owner" else getattr(firm, who)

    with pytest.raises(DatabaseError) as refused:
        run(user, f"DELETE FROM {table} WHERE id = %s", [pk])

    assert refused.value.__cause__.sqlstate == "23001"  # restrict_violation, from refuse_hard_delete
    assert _exists(table, pk)


@pytest.mark.parametrize("table", SAMPLE_TABLES)
def test_a_managers_hard_delete_in_sql_removes_nothing(firm: Firm, table: str) -> None:
    pk = SAMPLE_TABLES[table](make_sample(firm))

    try:
        deleted = run(firm.manager, f"DELETE FROM {table} WHERE id = %s RETURNING id", [pk])
    except DatabaseError as refused:  # refuse_hard_delete, when the policy lets the statement reach it
        assert refused.__cause__.sqlstate == "23001"
    else:  # or the delete policy (admins only) leaves no row to delete
        assert deleted == []

    assert _exists(table, pk)


def _soft_delete(model: type[Organization | Contact], pk: int, days_ago: int = 0) -> None:
    model.objects.filter(pk=pk).update(deleted_at=timezone.now() - dt.timedelta(days=days_ago))


def _purge(firm: Firm, *options: str) -> str:
    out = StringIO()
    call_command("purge", "--tenant", str(firm.tenant.pk), *options, stdout=out)
    return out.getvalue()


def test_purge_removes_the_firms_soft_deleted_rows_and_leaves_purge_entries(
    firm: Firm, other_firm: Firm
) -> None:
    live = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    gone = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    theirs = f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    _soft_delete(Contact, gone.pk)
    _soft_delete(Contact, theirs.pk)

    output = _purge(firm, "--older-than", "0")

    assert "Purged 1 rows" in output
    assert not _exists("contact", gone.pk)
    assert _exists("contact", live.pk) and _exists("contact", theirs.pk)
    assert entries("contact", gone.pk)[0].operation == "purge"
    assert entries("contact", theirs.pk)[0].operation == "delete"  # soft-deleted, not purged


def test_purge_keeps_rows_deleted_more_recently_than_older_than(firm: Firm) -> None:
    recent = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    old = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    _soft_delete(Contact, recent.pk, days_ago=10)
    _soft_delete(Contact, old.pk, days_ago=100)

    _purge(firm, "--older-than", "90")

    assert _exists("contact", recent.pk) and not _exists("contact", old.pk)


def test_purge_removes_a_cascade_deleted_organization_with_everything_deleted_with_it(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    product_line = f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity)
    involved = f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity, contact=contact)
    response = client_for(firm.admin).delete(f"{API}/organizations/{firm.customer.pk}/?cascade=true")
    assert response.status_code == 204

    _purge(firm, "--older-than", "0")

    assert not Organization.objects.filter(pk=firm.customer.pk).exists()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert not OpportunityProduct.objects.filter(pk=product_line.pk).exists()
    assert not OpportunityContact.objects.filter(pk=involved.pk).exists()
    assert entries("organization", firm.customer.pk)[0].operation == "purge"
    # The products and principal they pointed at were live and stay.
    assert Organization.objects.filter(pk=firm.principal_a.pk).exists()


def test_purge_dry_run_counts_and_deletes_nothing(firm: Firm) -> None:
    gone = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    _soft_delete(Contact, gone.pk)
    before = len(entries("contact", gone.pk))

    output = _purge(firm, "--older-than", "0", "--dry-run")

    assert "Would purge 1 rows" in output
    assert _exists("contact", gone.pk) and len(entries("contact", gone.pk)) == before


@pytest.mark.django_db(transaction=True)
def test_purge_keeps_soft_deleted_rows_that_live_rows_still_reference_and_commits_the_rest(
    firm: Firm,
) -> None:
    # Committed for real: Django's foreign keys are checked at commit unless the purge checks them earlier.
    f.OpportunityFactory(
        tenant=firm.tenant,
        principal=firm.principal_a,
        customer=firm.customer,
        distributor=firm.distributor,
        stage="closed_won",
        win_reason="On the menu",
    )
    gone = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    Organization.objects.filter(pk=firm.distributor.pk).update(deleted_at=timezone.now())
    Contact.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())

    output = _purge(firm, "--older-than", "0")

    assert "Purged 1 rows" in output and "kept 1 still referenced" in output
    assert _exists("organization", firm.distributor.pk)  # the closed opportunity still points at it
    assert not _exists("contact", gone.pk)
    assert entries("contact", gone.pk)[0].operation == "purge"
    assert entries("organization", firm.distributor.pk)[0].operation == "delete"
