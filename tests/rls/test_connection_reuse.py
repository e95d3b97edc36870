"""Nothing of one request survives into the next transaction on the same connection (as with a pooler).

These tests commit, so they run outside the per-test transaction; pytest-django flushes the tables
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection, transaction

from crm import rls
from tests.conftest import Firm, make_firm
from tests.rls.rules import TENANT_TABLES
from tests.rls.support import fetch_ids, scalar

VARIABLES = ("crm.user_id", "crm.tenant_id", "crm.role", "crm.book")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def committed_firm(transactional_db: None) -> Iterator[Firm]:
    firm = make_firm("Acme")
    yield firm
    assert not connection.in_atomic_block


def assert_next_transaction_is_clean(firm: Firm) -> None:
    assert connection.get_autocommit() and not connection.in_atomic_block
    with transaction.atomic():
        assert scalar("SELECT current_user") == scalar("SELECT session_user")
        assert scalar("SELECT current_user") != rls.runtime_role()
        for name in VARIABLES:
            assert scalar("SELECT current_setting(%s, true)", [name]) in ("", None), name
        # The role alone, without a fresh request context, opens nothing.
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{rls.runtime_role()}"')
        for table in TENANT_TABLES:
            assert scalar(f"SELECT count(*) FROM {table}") == 0, table
        transaction.set_rollback(True)
    # And the owner still sees the firm: the emptiness above is RLS, not missing data.
    assert scalar("SELECT count(*) FROM organization WHERE tenant_id = %s", [firm.tenant.pk]) == 4


def test_variables_do_not_survive_a_committed_request(committed_firm: Firm) -> None:
    with rls.acting_as(committed_firm.manager.pk) as context:
        assert context.tenant_id == committed_firm.tenant.pk
        assert fetch_ids("SELECT id FROM organization WHERE type = 'principal'") == {
            committed_firm.principal_a.pk
        }
    assert_next_transaction_is_clean(committed_firm)


def test_variables_do_not_survive_a_request_that_raised(committed_firm: Firm) -> None:
    with pytest.raises(RuntimeError), rls.acting_as(committed_firm.admin.pk):
        assert scalar("SELECT current_user") == rls.runtime_role()
        raise RuntimeError("the view failed")
    assert_next_transaction_is_clean(committed_firm)


def test_variables_do_not_survive_a_request_whose_statement_failed(committed_firm: Firm) -> None:
    with (
        pytest.raises(DatabaseError) as failure,
        rls.acting_as(committed_firm.viewer.pk),
        connection.cursor() as cursor,
    ):
        cursor.execute("INSERT INTO tenant (name) VALUES ('Take-over Ltd')")
    assert "permission denied" in str(failure.value)
    assert_next_transaction_is_clean(committed_firm)


def test_variables_do_not_survive_a_request_rolled_back_by_hand(committed_firm: Firm) -> None:
    """The middleware's path without acting_as: begin() in a transaction, then rollback."""
    with transaction.atomic():
        rls.begin(committed_firm.other_manager.pk)
        assert scalar("SELECT current_setting('crm.role', true)") == "manager"
        transaction.set_rollback(True)
    assert_next_transaction_is_clean(committed_firm)


def test_next_request_on_the_connection_gets_only_its_own_context(committed_firm: Firm) -> None:
    with rls.acting_as(committed_firm.admin.pk):
        admin_sees = fetch_ids("SELECT id FROM organization")
    with rls.acting_as(committed_firm.viewer.pk):
        viewer_sees = fetch_ids("SELECT id FROM organization")
        assert scalar("SELECT current_setting('crm.role', true)") == "viewer"
    assert committed_firm.principal_b.pk in admin_sees
    assert committed_firm.principal_b.pk not in viewer_sees
