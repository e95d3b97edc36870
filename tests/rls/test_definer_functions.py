"""What SQL running as the runtime role can do with the SECURITY DEFINER functions it may execute.

Each runs as the owner, past row level security, so each must check for itself who is asking (crm
migrations 0012 and 0015): raw SQL as `crm_app` (an injection, say), with variables forged or none set,
reads no password hash, lists no other firm's members and clears no other account's lockout. What stays
open (a change of role back to the owner) is in the README, "What it does not stop".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from crm import rls, signin
from tests.conftest import Firm
from tests.rls.support import INSUFFICIENT_PRIVILEGE, scalar

UNDEFINED_FUNCTION = "42883"

# Every definer function the runtime role may run, and why that is safe: a new one fails this test until
# it is reviewed and listed.
REVIEWED = {
    "crm_context_ok()": "a yes or no about the caller's own variables",
    "crm_is_member(bigint,bigint)": "the request's own firm only, with a verified context",
    "crm_member_ids()": "a verified context's own firm only",
    "crm_create_member(text,text,text,text,text)": "a verified admin context only",
    "crm_create_api_key(text,text,text,bytea,timestamp with time zone)": "a verified admin context only;"
    " manager or viewer keys only",
    "crm_history_write(text,text,jsonb,jsonb,text,boolean)": "inside a trigger only",
    "crm_signin_attempt(text)": "once, in a sign-in the middleware opened, under its policy",
    "crm_signin_user()": "the user that attempt found, unless locked",
    "crm_signin_failed()": "that attempt's account and client only, in the opened window",
    "crm_signin_succeeded()": "that attempt's account only, when it found a user and was not locked",
    "crm_token_user(bigint)": "the signed-in, own, or one refreshed user: active flag and epoch only",
    "crm_idempotency_claim(text,text)": "the verified caller's own key, in its own firm (and owner policies)",
    "crm_idempotency_store(text,text,integer,jsonb,bytea,integer)": "the verified caller's own key, in its own firm",
    "crm_refresh_family_open(bigint,timestamp with time zone)": "for the signed-in or own user only",
    "crm_refresh_rotate(uuid,bigint,bigint,timestamp with time zone)": "a family's secret id and its user",
    "crm_refresh_revoke(uuid,bigint)": "a family's secret id and its user",
    "crm_set_firm_time_zone(text)": "a verified admin context, its own firm's zone only",
    "crm_set_member_time_zone(bigint,text)": "a verified context: the caller's own zone, or an admin's for a"
    " member of their own firm (false, not an error, for anyone else)",
    "crm_feed_horizon(pg_snapshot)": "a transaction id of the cluster: whether others run, nothing they wrote",
    "crm_search_contact(text)": "filtered by the table's SELECT policy",
    "crm_search_contact_keyed(text)": "filtered by the table's SELECT policy",
    "crm_search_interaction(text)": "filtered by the table's SELECT policy",
    "crm_search_opportunity(text)": "filtered by the table's SELECT policy",
    "crm_search_organization(text)": "filtered by the table's SELECT policy",
    "crm_search_product(text)": "filtered by the table's SELECT policy",
}


def refused(statement: str, params: list[Any] | None = None) -> str:
    """The SQLSTATE the statement fails with, in a savepoint."""
    with pytest.raises(DatabaseError) as failure, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(getattr(failure.value.__cause__, "sqlstate", ""))


def forge(firm: Firm) -> None:
    scalar(
        "SELECT set_config('crm.tenant_id', %s, true), set_config('crm.role', 'admin', true),"
        " set_config('crm.user_id', %s, true)",
        [str(firm.tenant.pk), str(firm.admin.pk)],
    )


def failures_of(email: str) -> int:
    with connection.cursor() as cursor:  # the owner
        cursor.execute(
            "SELECT count(*) FROM signin_failure WHERE account_key = crm_signin_account_key(%s)", [email]
        )
        return int(cursor.fetchone()[0])


def record_failure(email: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signin_failure (account_key, client_key)"
            " VALUES (crm_signin_account_key(%s), '203.0.113.9')",
            [email],
        )


def test_every_definer_function_the_runtime_role_may_run_is_reviewed(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p"
            " WHERE p.prosecdef AND has_function_privilege(%s, p.oid, 'EXECUTE')",
            [rls.runtime_role()],
        )
        executable = {name for (name,) in cursor.fetchall()}
    assert executable == set(REVIEWED)


def test_no_password_hash_or_email_for_an_arbitrary_user(db: None, firm: Firm, other_firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk):
        assert (
            refused(
                "SELECT email, password, credentials_epoch FROM crm_auth_user(NULL, %s)",
                [other_firm.admin.pk],
            )
            == INSUFFICIENT_PRIVILEGE
        )
        # No sign-in under way: the sign-in functions give nothing and refuse to start one.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM crm_signin_user()")
            assert cursor.fetchone()[0] == 0
        for statement in (
            f"SELECT crm_signin_attempt('{other_firm.admin.email}')",
            f"SELECT * FROM crm_token_user({other_firm.admin.pk})",
        ):
            assert refused(statement) == INSUFFICIENT_PRIVILEGE
        # Nor can the variables of a sign-in be written by hand.
        scalar("SELECT set_config('crm.signin', '{}', true), set_config('crm.signin_mac', 'f00d', true)")
        assert refused(f"SELECT crm_signin_attempt('{other_firm.admin.email}')") == (INSUFFICIENT_PRIVILEGE)
    with rls.acting_as(None):
        assert refused(f"SELECT * FROM crm_token_user({other_firm.admin.pk})") == INSUFFICIENT_PRIVILEGE


def test_a_sign_in_looks_up_one_email_and_never_an_id(db: None, firm: Firm, other_firm: Firm) -> None:
    with transaction.atomic():
        rls.begin(None, signin=signin.policy("x"))  # what the middleware does for the sign-in endpoints
        assert scalar(f"SELECT crm_signin_attempt('{firm.manager.email}')") == 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM crm_signin_user()")
            assert cursor.fetchall() == [(firm.manager.pk,)]
        # One attempt a request: a second email is refused, and no other user's epoch can be read.
        assert refused(f"SELECT crm_signin_attempt('{other_firm.admin.email}')") == (INSUFFICIENT_PRIVILEGE)
        assert refused(f"SELECT * FROM crm_token_user({other_firm.admin.pk})") == INSUFFICIENT_PRIVILEGE
        rls.end()


def test_a_forged_tenant_lists_no_other_firms_members(db: None, firm: Firm, other_firm: Firm) -> None:
    others = {other_firm.admin.pk, other_firm.manager.pk, other_firm.other_manager.pk, other_firm.viewer.pk}
    with rls.acting_as(other_firm.viewer.pk):
        assert set(scalar("SELECT crm_member_ids()")) == others  # the real context works
    with rls.acting_as(firm.manager.pk):
        forge(other_firm)
        assert scalar("SELECT crm_member_ids()") == []
        assert scalar("SELECT crm_is_member(%s, %s)", [other_firm.admin.pk, other_firm.tenant.pk]) is False
    with rls.acting_as(firm.manager.pk):
        # Not even with its own verified context may it ask about another firm.
        assert scalar("SELECT crm_is_member(%s, %s)", [other_firm.admin.pk, other_firm.tenant.pk]) is False
        assert scalar("SELECT crm_is_member(%s, %s)", [firm.admin.pk, firm.tenant.pk]) is True


def test_another_accounts_lockout_cannot_be_cleared(db: None, firm: Firm, other_firm: Firm) -> None:
    victim = other_firm.admin.email
    for _ in range(5):
        record_failure(victim)
    with rls.acting_as(firm.manager.pk):
        assert refused("SELECT crm_signin_succeeded(crm_signin_account_key(%s))", [victim]) == (
            INSUFFICIENT_PRIVILEGE
        )
        assert refused("SELECT crm_signin_succeeded()") == INSUFFICIENT_PRIVILEGE
        assert refused("DELETE FROM signin_failure") == INSUFFICIENT_PRIVILEGE
        # Proving one's own password again names one's own account only.
        assert refused(f"SELECT crm_signin_attempt('{victim}')") == INSUFFICIENT_PRIVILEGE
    with transaction.atomic():
        rls.begin(None, signin=signin.policy("x"))
        # A locked account: the attempt says so, finds nobody, and cannot be declared a success.
        assert scalar(f"SELECT crm_signin_attempt('{victim}')") > 0
        assert refused("SELECT crm_signin_succeeded()") == INSUFFICIENT_PRIVILEGE
        rls.end()
    assert failures_of(victim) == 5


def test_a_sign_in_counts_under_the_owners_policy_never_the_callers(
    db: None, firm: Firm, other_firm: Firm
) -> None:
    """Any signed-in request may prove its own password again (me/password/), and an injected statement
    there must not choose the client counted, the window swept or the limits: they are the policy the
    owner opened the sign-in with."""
    victim = other_firm.admin.email
    for _ in range(5):
        record_failure(victim)
    with connection.cursor() as cursor:  # an old failure, inside the service's window: not to be swept
        cursor.execute("UPDATE signin_failure SET failed_at = now() - interval '10 minutes'")
    with transaction.atomic():
        rls.begin(firm.manager.pk, signin=signin.policy("198.51.100.7", own=True))
        # The old signatures that took a client, a window and limits from the caller are gone.
        assert refused(
            f"SELECT crm_signin_attempt('{firm.manager.email}', '203.0.113.9', 900, 1000000, 1000000)"
        ) == (UNDEFINED_FUNCTION)
        assert refused("SELECT crm_signin_failed(-100000000)") == UNDEFINED_FUNCTION
        assert refused(f"SELECT crm_signin_attempt('{victim}')") == INSUFFICIENT_PRIVILEGE  # own account only
        assert scalar(f"SELECT crm_signin_attempt('{firm.manager.email}')") == 0
        scalar("SELECT crm_signin_failed()")
        rls.end()
    assert failures_of(victim) == 5  # swept with the service's window: nothing of it was old enough
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_key FROM signin_failure WHERE account_key = crm_signin_account_key(%s)",
            [firm.manager.email],
        )
        assert cursor.fetchall() == [("198.51.100.7",)]  # counted under the request's client, from the owner


def test_no_temporary_table_and_so_no_trigger_of_its_own_to_write_history(db: None, firm: Firm) -> None:
    """crm_history_write() answers only inside a trigger: a temporary table with a trigger of the
    runtime role's own would be one (forged history for any firm, under any actor), and a temporary
    table can shadow what a function without a pinned search_path reads. The role may create neither."""
    with rls.acting_as(firm.manager.pk):
        assert refused("CREATE TEMP TABLE forged (x int)") == INSUFFICIENT_PRIVILEGE
        assert refused("CREATE FUNCTION public.forged() RETURNS int LANGUAGE sql RETURN 1") == (
            INSUFFICIENT_PRIVILEGE
        )
        assert refused("CREATE TABLE public.forged (x int)") == INSUFFICIENT_PRIVILEGE
        # And called directly, the writer still refuses.
        assert (
            refused(
                "SELECT crm_history_write('INSERT', 'organization', NULL, %s::jsonb, NULL, true)",
                ['{"id": 1, "tenant_id": 1, "name": "forged"}'],
            )
            == INSUFFICIENT_PRIVILEGE
        )
