"""Users and sessions are not tenant tables, but they must not be a way around tenancy either."""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from crm import rls
from tests.conftest import Firm
from tests.rls.support import attempt, fetch_ids, scalar


def test_a_request_sees_itself_and_its_firms_members_only(firm: Firm, other_firm: Firm) -> None:
    own = {firm.admin.pk, firm.manager.pk, firm.other_manager.pk, firm.viewer.pk}
    with rls.acting_as(firm.viewer.pk):
        assert fetch_ids("SELECT id FROM crm_user") == own


def test_nobody_sees_any_user_without_a_request_context(firm: Firm) -> None:
    with rls.acting_as(None):
        assert fetch_ids("SELECT id FROM crm_user") == set()


def test_users_of_another_firm_can_be_neither_read_nor_changed(firm: Firm, other_firm: Firm) -> None:
    rival_admin = other_firm.admin.pk
    with rls.acting_as(firm.admin.pk):
        assert fetch_ids("SELECT id FROM crm_user WHERE id = %s", [rival_admin]) == set()
        reset = attempt(
            "UPDATE crm_user SET password = '!' WHERE id = %s RETURNING id", [rival_admin], keep=True
        )
    assert reset.ids == set()


def test_no_one_can_make_themselves_superuser_or_staff(firm: Firm) -> None:
    with rls.acting_as(firm.viewer.pk):
        superuser = attempt(
            "UPDATE crm_user SET is_superuser = true WHERE id = %s RETURNING id", [firm.viewer.pk]
        )
        staff = attempt("UPDATE crm_user SET is_staff = true WHERE id = %s RETURNING id", [firm.viewer.pk])
    assert superuser.sqlstate == "42501" and staff.sqlstate == "42501"  # no column privilege


def test_a_manager_cannot_edit_a_colleague_but_an_admin_can(firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        assert (
            attempt(
                "UPDATE crm_user SET first_name = 'X' WHERE id = %s RETURNING id", [firm.other_manager.pk]
            ).ids
            == set()
        )
        assert attempt(
            "UPDATE crm_user SET first_name = 'Me' WHERE id = %s RETURNING id", [firm.manager.pk]
        ).ids == {firm.manager.pk}
    with rls.acting_as(firm.admin.pk):
        assert attempt(
            "UPDATE crm_user SET first_name = 'Y' WHERE id = %s RETURNING id", [firm.other_manager.pk]
        ).ids == {firm.other_manager.pk}


def test_the_runtime_role_cannot_insert_users_directly(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk):
        outcome = attempt(
            "INSERT INTO crm_user (password, email, first_name, last_name, is_active, is_staff, is_superuser,"
            " date_joined) VALUES ('!', 'x@example.test', '', '', true, false, false, now()) RETURNING id"
        )
    assert outcome.sqlstate == "42501"


def test_only_an_admin_creates_members_and_only_in_their_own_firm(firm: Firm, other_firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        refused = attempt("SELECT crm_create_member('n@example.test', '', '', '!', 'manager')")
    assert refused.sqlstate == "42501"
    with rls.acting_as(firm.admin.pk):
        (new_id,) = attempt(
            "SELECT crm_create_member('n@example.test', 'N', 'M', '!', 'viewer')", keep=True
        ).ids
        assert scalar("SELECT tenant_id FROM membership WHERE user_id = %s", [new_id]) == firm.tenant.pk
    with rls.acting_as(other_firm.admin.pk):
        assert fetch_ids("SELECT id FROM crm_user WHERE id = %s", [new_id]) == set()


def test_a_session_is_reachable_only_by_the_key_its_request_carries(firm: Firm, other_firm: Firm) -> None:
    store = SessionStore()
    store["_auth_user_id"] = str(other_firm.admin.pk)
    store.create()
    with rls.acting_as(firm.viewer.pk):
        assert fetch_ids("SELECT 1 FROM django_session WHERE session_key = %s", [store.session_key]) == set()
        assert attempt("DELETE FROM django_session RETURNING 1").ids == set()


def test_the_runtime_role_cannot_assume_another_users_identity(firm: Firm, other_firm: Firm) -> None:
    with rls.acting_as(firm.viewer.pk):
        outcome = attempt("SELECT tenant_id FROM crm_request_context(%s)", [other_firm.admin.pk])
        assert outcome.sqlstate == "42501"
        assert connection.cursor() is not None
