"""The request context fails closed: without a member behind it the runtime role sees and writes nothing,
and the book is exactly the user's live assignments."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm import rls
from crm.models import PrincipalAssignment, User
from tests import factories as f
from tests.conftest import Firm
from tests.rls.rules import TENANT_TABLES
from tests.rls.support import REFUSED, attempt, attempt_save, fetch_ids, scalar


@pytest.fixture
def firm_with_rows(firm: Firm, other_firm: Firm) -> Firm:
    for each in (firm, other_firm):
        contact = f.ContactFactory(tenant=each.tenant, organization=each.customer)
        opportunity = f.OpportunityFactory(
            tenant=each.tenant, principal=each.principal_a, customer=each.customer
        )
        f.InteractionFactory(
            tenant=each.tenant, organization=each.customer, opportunity=opportunity, contact=contact
        )
        f.OpportunityProductFactory(tenant=each.tenant, opportunity=opportunity)
        f.OpportunityContactFactory(tenant=each.tenant, opportunity=opportunity, contact=contact)
        f.ProductDistributorFactory(tenant=each.tenant, distributor=each.distributor)
        f.DistributorAuthorizationFactory(
            tenant=each.tenant, distributor=each.distributor, principal=each.principal_b
        )
        f.CustomerDistributorFactory(tenant=each.tenant, customer=each.customer, distributor=each.distributor)
    return firm


def visible_counts() -> dict[str, int]:
    return {table: scalar(f"SELECT count(*) FROM {table}") for table in TENANT_TABLES}


def assert_sees_and_writes_nothing() -> None:
    assert visible_counts() == dict.fromkeys(TENANT_TABLES, 0)
    for table in TENANT_TABLES:
        for statement in (f"UPDATE {table} SET id = id RETURNING id", f"DELETE FROM {table} RETURNING id"):
            assert attempt(statement).ids == set()
    outcome = attempt_save(f.OrganizationFactory.build(tenant=None, name="Sneaky Foods", type="customer"))
    assert outcome.refused and outcome.sqlstate in REFUSED


def test_unset_variables_see_and_write_nothing(db: None, firm_with_rows: Firm) -> None:
    with transaction.atomic():
        context = rls.begin(None)
        assert context == rls.ANONYMOUS
        assert scalar("SELECT current_user") == rls.runtime_role()
        assert_sees_and_writes_nothing()
        rls.end()


def test_runtime_role_without_any_request_context_sees_nothing(db: None, firm_with_rows: Firm) -> None:
    """Forgetting crm_request_context altogether (only SET ROLE) must not open anything either."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{rls.runtime_role()}"')
        assert_sees_and_writes_nothing()
        rls.end()


def test_user_without_membership_sees_and_writes_nothing(db: None, firm_with_rows: Firm) -> None:
    stranger = f.UserFactory()
    with rls.acting_as(stranger.pk) as context:
        assert not context.is_member
        assert scalar("SELECT current_setting('crm.user_id', true)") == ""
        assert_sees_and_writes_nothing()


def test_deactivated_user_sees_and_writes_nothing(db: None, firm_with_rows: Firm) -> None:
    User.objects.filter(pk=firm_with_rows.admin.pk).update(is_active=False)
    with rls.acting_as(firm_with_rows.admin.pk) as context:
        assert not context.is_member
        assert_sees_and_writes_nothing()


def test_unknown_user_id_sees_and_writes_nothing(db: None, firm_with_rows: Firm) -> None:
    with rls.acting_as(987_654_321) as context:
        assert not context.is_member
        assert_sees_and_writes_nothing()


def test_book_is_the_users_live_assignments(db: None, firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk) as context:
        assert context.book == (firm.principal_a.pk,)
        assert fetch_ids("SELECT id FROM organization WHERE type = 'principal'") == {firm.principal_a.pk}


def test_revoked_assignment_takes_the_principal_out_of_the_book(db: None, firm: Firm) -> None:
    PrincipalAssignment.objects.filter(user=firm.manager).update(deleted_at=timezone.now())
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    with rls.acting_as(firm.manager.pk) as context:
        assert context.book == ()
        assert fetch_ids("SELECT id FROM opportunity") == set()
        assert fetch_ids("SELECT id FROM organization WHERE type = 'principal'") == set()
    assert opportunity.pk


def test_admin_book_variable_is_empty_and_admin_still_sees_every_principal(db: None, firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk) as context:
        assert context.role == "admin" and context.book == ()
        assert scalar("SELECT current_setting('crm.book', true)") == ""
        principals = fetch_ids("SELECT id FROM organization WHERE type = 'principal'")
    assert principals == {firm.principal_a.pk, firm.principal_b.pk}


def test_variables_are_cleared_when_the_block_ends_inside_an_outer_transaction(db: None, firm: Firm) -> None:
    """Tests (and nested requests) run acting_as inside a transaction: leaving it restores the owner."""
    owner = scalar("SELECT current_user")
    with rls.acting_as(firm.manager.pk):
        assert scalar("SELECT current_user") == rls.runtime_role()
        assert scalar("SELECT current_setting('crm.tenant_id', true)") == str(firm.tenant.pk)
    assert scalar("SELECT current_user") == owner
    for name in ("crm.user_id", "crm.tenant_id", "crm.role", "crm.book"):
        assert scalar("SELECT current_setting(%s, true)", [name]) in ("", None)


def test_variables_are_cleared_when_the_block_raises_inside_an_outer_transaction(
    db: None, firm: Firm
) -> None:
    owner = scalar("SELECT current_user")
    with pytest.raises(RuntimeError), rls.acting_as(firm.manager.pk):
        raise RuntimeError("the request failed")
    assert scalar("SELECT current_user") == owner
    assert scalar("SELECT current_setting('crm.tenant_id', true)") in ("", None)
