"""Stored answers to idempotent writes, in raw SQL as the runtime role: its own keys and nobody else's
(crm migration 0021, ADR 0016). The answers hold a firm's data as one caller saw it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, transaction

from crm import rls
from tests.conftest import Firm
from tests.rls.support import INSUFFICIENT_PRIVILEGE, scalar
from tests.rls.test_definer_functions import forge, refused

FINGERPRINT = "f" * 64


def claim(key: str, fingerprint: str = FINGERPRINT) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM crm_idempotency_claim(%s, %s)", [key, fingerprint])
        row = cursor.fetchone()
    assert row is not None
    headers = json.loads(row[2]) if isinstance(row[2], str) else row[2]  # jsonb comes as text here
    return (row[0], row[1], headers, None if row[3] is None else bytes(row[3]))


def store(key: str, body: bytes, fingerprint: str = FINGERPRINT) -> None:
    scalar(
        'SELECT crm_idempotency_store(%s, %s, 201, \'{"Content-Type": "application/json"}\', %s, 86400)',
        [key, fingerprint, body],
    )


@pytest.fixture
def stored(db: None, firm: Firm) -> bytes:
    """The manager's answer under key "k", committed as a request would."""
    body = b'{"subject": "Acme\'s secret visit"}'
    with rls.acting_as(firm.manager.pk):
        assert claim("k")[0] == "new"
        store("k", body)
    return body


def test_the_runtime_role_holds_no_privilege_on_the_table(stored: bytes, firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        for statement in (
            "SELECT body FROM idempotency_key",
            "DELETE FROM idempotency_key",
            "UPDATE idempotency_key SET status = 200",
            f"INSERT INTO idempotency_key (tenant_id, caller, key, fingerprint, status, headers, body, expires_at)"
            f" VALUES ({firm.tenant.pk}, 'user:{firm.manager.pk}', 'x', '{FINGERPRINT}', 200, '{{}}', '', now() + interval '1 hour')",
        ):
            assert refused(statement) == INSUFFICIENT_PRIVILEGE, statement


def test_the_caller_gets_its_own_answer_back(stored: bytes, firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        assert claim("k") == ("replay", 201, {"Content-Type": "application/json"}, stored)
        assert claim("k", "0" * 64)[0] == "mismatch"


@pytest.mark.parametrize("who", ["colleague", "admin", "other firm's manager"])
def test_another_caller_never_reaches_the_stored_answer(
    stored: bytes, firm: Firm, other_firm: Firm, who: str
) -> None:
    user = {"colleague": firm.other_manager, "admin": firm.admin, "other firm's manager": other_firm.manager}[
        who
    ]
    with rls.acting_as(user.pk):
        assert claim("k") == ("new", None, None, None)  # a key of its own, not the manager's
        store("k", b"theirs")
    with rls.acting_as(firm.manager.pk):
        assert claim("k")[3] == stored  # the manager's is untouched


def test_a_forged_context_reaches_no_key(stored: bytes, firm: Firm, other_firm: Firm) -> None:
    """Raw SQL that sets the manager's firm and id itself: the MAC does not verify, so both functions refuse."""
    with rls.acting_as(other_firm.manager.pk):
        forge(firm)
        scalar("SELECT set_config('crm.user_id', %s, true)", [str(firm.manager.pk)])
        assert (
            refused("SELECT * FROM crm_idempotency_claim('k', %s)", [FINGERPRINT]) == INSUFFICIENT_PRIVILEGE
        )
        assert refused("SELECT crm_idempotency_store('k', %s, 200, '{}', '', 60)", [FINGERPRINT]) == (
            INSUFFICIENT_PRIVILEGE
        )
    with rls.acting_as(None):
        assert (
            refused("SELECT * FROM crm_idempotency_claim('k', %s)", [FINGERPRINT]) == INSUFFICIENT_PRIVILEGE
        )


def test_a_window_longer_than_7_days_is_refused(db: None, firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        assert (
            refused("SELECT crm_idempotency_store('w', %s, 200, '{}', '', 700000)", [FINGERPRINT]) == "23514"
        )


def test_a_key_another_transaction_holds_is_in_flight(stored: bytes, firm: Firm) -> None:
    """The lock is the advisory lock crm_idempotency_claim() takes: held by another session, the key is
    in flight for the same caller only."""
    lock = scalar(
        "SELECT hashtextextended(json_build_array('crm_idempotency', %s::bigint, %s::text, 'busy')::text, 0)",
        [firm.tenant.pk, f"user:{firm.manager.pk}"],
    )
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
            with rls.acting_as(firm.manager.pk):
                assert claim("busy")[0] == "in_flight"
            with rls.acting_as(firm.other_manager.pk):
                assert claim("busy")[0] == "new"
            cursor.execute("ROLLBACK")
    finally:
        other.close()


def test_the_owners_policies_admit_only_the_verified_callers_own_keys(
    stored: bytes, firm: Firm, other_firm: Firm
) -> None:
    """The definer functions run as the owner, under forced RLS: its policies hold them to the request's
    caller too. Here as a role that has the owner's rights but not its superuser bypass (a deployed owner)."""
    with rls.acting_as(other_firm.manager.pk):
        store("k", b"rival's")
    owner = scalar("SELECT current_user")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE ROLE crm_test_plain_owner NOSUPERUSER NOBYPASSRLS NOLOGIN")
        cursor.execute(f'GRANT "{owner}" TO crm_test_plain_owner')
        for user, expected in ((firm.manager, [b'{"subject": "Acme\'s secret visit"}']), (firm.admin, [])):
            with transaction.atomic():
                rls.begin(user.pk)
                cursor.execute("SET LOCAL ROLE crm_test_plain_owner")  # the context's MAC still verifies
                cursor.execute("SELECT body FROM idempotency_key")
                assert [bytes(body) for (body,) in cursor.fetchall()] == expected
                cursor.execute("DELETE FROM idempotency_key")
                assert cursor.rowcount == len(expected)
                transaction.set_rollback(True)
        with transaction.atomic():
            cursor.execute("SET LOCAL ROLE crm_test_plain_owner")  # no context: nothing
            cursor.execute("SELECT count(*) FROM idempotency_key")
            assert cursor.fetchone()[0] == 0
            transaction.set_rollback(True)
        transaction.set_rollback(True)
