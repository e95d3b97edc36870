"""SQL running as the runtime role cannot give itself another firm, role or book (crm migration 0012).

The variables count only with the MAC crm_request_context() set for them, bound to this backend and this
transaction and keyed by a secret the runtime role cannot read. Raw SQL as the runtime role that sets
another firm's tenant id (with or without a MAC of its own making, copied or replayed) sees nothing and
writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from crm import rls
from tests.conftest import Firm, make_firm
from tests.rls.rules import TENANT_TABLES
from tests.rls.support import REFUSED, attempt, scalar
from tests.rls.test_request_context import assert_sees_and_writes_nothing, firm_with_rows, visible_counts

__all__ = ["firm_with_rows"]  # the fixture, shared with test_request_context


def forge(tenant_id: int, role: str = "admin", user_id: int | None = None, book: str = "") -> None:
    """What an injection running as the runtime role could do: set the variables itself."""
    scalar(
        "SELECT set_config('crm.tenant_id', %s, true), set_config('crm.role', %s, true),"
        " set_config('crm.user_id', %s, true), set_config('crm.book', %s, true)",
        [str(tenant_id), role, "" if user_id is None else str(user_id), book],
    )


def test_a_member_who_sets_another_firms_tenant_id_sees_and_writes_nothing(
    db: None, firm_with_rows: Firm, other_firm: Firm
) -> None:
    with rls.acting_as(firm_with_rows.manager.pk):
        assert visible_counts()["organization"] > 0  # the real context works
        forge(other_firm.tenant.pk, "admin", other_firm.admin.pk)
        assert scalar("SELECT crm_context_ok()") is False
        assert_sees_and_writes_nothing()


def test_the_same_firm_with_a_higher_role_or_a_bigger_book_is_refused_too(
    db: None, firm_with_rows: Firm
) -> None:
    with rls.acting_as(firm_with_rows.viewer.pk):
        before = visible_counts()
        assert before["organization"] > 0
        forge(firm_with_rows.tenant.pk, "admin", firm_with_rows.viewer.pk)
        assert visible_counts() == dict.fromkeys(TENANT_TABLES, 0)
    with rls.acting_as(firm_with_rows.manager.pk):
        book = scalar("SELECT current_setting('crm.book')")
        forge(
            firm_with_rows.tenant.pk,
            "manager",
            firm_with_rows.manager.pk,
            "{" + f"{firm_with_rows.principal_a.pk},{firm_with_rows.principal_b.pk}" + "}",
        )
        assert book != scalar("SELECT current_setting('crm.book')")
        assert_sees_and_writes_nothing()


def test_a_mac_copied_from_the_own_context_does_not_carry_over_to_other_values(
    db: None, firm_with_rows: Firm, other_firm: Firm
) -> None:
    with rls.acting_as(firm_with_rows.admin.pk):
        mac = scalar("SELECT current_setting('crm.context_mac')")
        assert len(mac) == 64
        forge(other_firm.tenant.pk, "admin", other_firm.admin.pk)
        scalar("SELECT set_config('crm.context_mac', %s, true)", [mac])
        assert_sees_and_writes_nothing()


@pytest.mark.django_db(transaction=True)
def test_a_mac_from_an_earlier_transaction_cannot_be_replayed() -> None:
    firm = make_firm("Replay")  # committed: the transactions below are real ones, not savepoints
    with rls.acting_as(firm.admin.pk), connection.cursor() as cursor:
        assert scalar("SELECT count(*) FROM organization") > 0
        cursor.execute(
            "SELECT current_setting('crm.tenant_id'), current_setting('crm.role'),"
            " current_setting('crm.user_id'), current_setting('crm.book', true), current_setting('crm.context_mac')"
        )
        tenant, role, user, book, mac = cursor.fetchone()
    with transaction.atomic():  # a later transaction on the same backend, replaying the exact variables
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{rls.runtime_role()}"')
        forge(int(tenant), role, int(user), book or "")
        scalar("SELECT set_config('crm.context_mac', %s, true)", [mac])
        assert scalar("SELECT crm_context_ok()") is False
        assert visible_counts() == dict.fromkeys(TENANT_TABLES, 0)
        rls.end()


def test_nobody_may_sign_their_own_variables(db: None, firm_with_rows: Firm) -> None:
    """The runtime role cannot read the key, compute a MAC or call the context function."""
    with rls.acting_as(None):
        for statement in (
            "SELECT inner_key FROM crm_context_key",
            "SELECT crm_context_mac()",
            f"SELECT * FROM crm_request_context({firm_with_rows.admin.pk}, NULL)",
            f"SELECT * FROM crm_request_context({firm_with_rows.admin.pk})",
        ):
            outcome = attempt(statement)
            assert outcome.refused and outcome.sqlstate == "42501", statement


def test_search_under_a_forged_context_finds_nothing(
    db: None, firm_with_rows: Firm, other_firm: Firm
) -> None:
    with rls.acting_as(firm_with_rows.manager.pk):
        forge(other_firm.tenant.pk, "admin", other_firm.admin.pk)
        for table in ("organization", "contact", "product", "opportunity", "interaction"):
            assert scalar(f"SELECT count(*) FROM {rls.search_function(table)}('rival:*')") == 0


def test_adding_a_member_to_another_firm_is_refused(db: None, firm: Firm, other_firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        forge(other_firm.tenant.pk, "admin", other_firm.admin.pk)
        outcome = attempt("SELECT crm_create_member('mole@rival.test', 'M', 'Ole', '!', 'admin')")
        assert outcome.refused and outcome.sqlstate in REFUSED, outcome


def test_every_policy_the_runtime_role_meets_checks_the_mac(db: None) -> None:
    unchecked: list[Any] = [
        (table, name, kind)
        for table, name, using, check in _public_policies()
        for kind, expression in (("USING", using), ("WITH CHECK", check))
        if expression is not None
        and not expression.startswith("(( SELECT crm_context_ok() AS crm_context_ok) AND ")
    ]
    assert unchecked == []


def _public_policies() -> list[tuple[str, str, str | None, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT polrelid::regclass::text, polname, pg_get_expr(polqual, polrelid),"
            " pg_get_expr(polwithcheck, polrelid) FROM pg_policy WHERE polroles = '{0}' ORDER BY 1, 2"
        )
        rows = cursor.fetchall()
    assert len(rows) > 40
    return rows


def test_the_real_context_still_sees_exactly_its_own_firm(db: None, firm_with_rows: Firm) -> None:
    with rls.acting_as(firm_with_rows.admin.pk):
        assert scalar("SELECT crm_context_ok()") is True
        assert scalar("SELECT count(*) FROM organization") == scalar(
            "SELECT count(*) FROM organization WHERE tenant_id = %s", [firm_with_rows.tenant.pk]
        )
    with connection.cursor() as cursor:  # the owner (tests run it as a superuser): every firm's rows
        cursor.execute("SELECT count(*) FROM organization WHERE tenant_id = %s", [firm_with_rows.tenant.pk])
        assert cursor.fetchone()[0] > 0
