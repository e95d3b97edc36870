"""API keys in raw SQL as the runtime role (crm migration 0023): no hash is readable, no key is checked or
made but by the owner's function or a verified admin, a key's user never signs in, never becomes an admin
and never comes back once revoked; the key's context is its user's, exactly."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from crm import api_keys, rls
from crm.models import ApiKey, User
from tests.conftest import Firm
from tests.rls.support import INSUFFICIENT_PRIVILEGE, fetch_ids, scalar
from tests.rls.test_definer_functions import forge, refused

CHECK_VIOLATION = "23514"


def make_key(firm: Firm, role: str = "viewer") -> api_keys.CreatedKey:
    with rls.acting_as(firm.admin.pk):
        return api_keys.api_key_create(name="Mailer", role=role, book=[firm.principal_a.pk])


def context_of_key(key: str) -> rls.RequestContext:
    presented = api_keys.parse(key)
    assert presented is not None
    with transaction.atomic():
        context = rls.begin(None, api_key=(presented.key_id, presented.digest))
        rls.end()
    return context


def test_a_keys_context_is_its_users_with_its_role_and_book(firm: Firm) -> None:
    created = make_key(firm)
    context = context_of_key(created.key)
    assert (context.user_id, context.tenant_id, context.role, context.book) == (
        created.api_key.user_id,
        firm.tenant.pk,
        "viewer",
        (firm.principal_a.pk,),
    )
    with rls.acting_as(firm.viewer.pk):  # the member with that role and book sees the same
        as_viewer = fetch_ids("SELECT id FROM organization")
    with transaction.atomic():
        rls.begin(None, api_key=(created.api_key.key_id, api_keys.digest_of(created.key.split("_", 2)[2])))
        assert fetch_ids("SELECT id FROM organization") == as_viewer
        rls.end()


def test_a_wrong_secret_and_an_unknown_key_are_nobody(firm: Firm) -> None:
    created = make_key(firm)
    wrong = f"crm_{created.api_key.key_id}_{'B' * 43}"
    for key in (wrong, f"crm_{'f' * 16}_{'B' * 43}"):
        assert context_of_key(key) == rls.ANONYMOUS


def test_the_runtime_role_reads_no_hash_and_checks_no_key(firm: Firm) -> None:
    created = make_key(firm)
    with rls.acting_as(firm.admin.pk):
        assert refused("SELECT digest FROM api_key_secret") == INSUFFICIENT_PRIVILEGE
        assert refused("SELECT * FROM crm_api_key_context('x', '\\x00'::bytea)") == INSUFFICIENT_PRIVILEGE
        assert fetch_ids("SELECT id FROM api_key") == {created.api_key.pk}  # the admin lists the firm's keys
    with rls.acting_as(firm.manager.pk):
        assert fetch_ids("SELECT id FROM api_key") == set()  # nobody else does


def test_only_a_verified_admin_creates_keys_and_never_an_admin_key(firm: Firm) -> None:
    args = "'Rogue', 'manager', '00000000000000aa', sha256('x'::bytea), NULL"
    with rls.acting_as(firm.manager.pk):
        assert refused(f"SELECT crm_create_api_key({args})") == INSUFFICIENT_PRIVILEGE
        forge(firm)  # the admin's id and role, set by hand: the MAC does not verify
        assert refused(f"SELECT crm_create_api_key({args})") == INSUFFICIENT_PRIVILEGE
    with rls.acting_as(firm.admin.pk):
        admin_key = "'Root', 'admin', '00000000000000ab', sha256('x'::bytea), NULL"
        assert refused(f"SELECT crm_create_api_key({admin_key})") == CHECK_VIOLATION
    assert not ApiKey.objects.exists()


def test_a_keys_user_never_signs_in_nor_becomes_an_admin(firm: Firm) -> None:
    created = make_key(firm, role="manager")
    user_id = created.api_key.user_id
    usable = User(email="x@example.test")
    usable.set_password("Harbor-Reset-Pass-9")
    with rls.acting_as(firm.admin.pk):
        assert (
            refused("UPDATE crm_user SET password = %s WHERE id = %s", [usable.password, user_id])
            == CHECK_VIOLATION
        )
        assert (
            refused("UPDATE membership SET role = 'admin' WHERE user_id = %s", [user_id]) == CHECK_VIOLATION
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE crm_user SET is_staff = true WHERE id = %s", [user_id])  # not even the owner


def test_revoking_deactivates_the_user_at_once_and_for_good(firm: Firm) -> None:
    created = make_key(firm)
    epoch = scalar("SELECT credentials_epoch FROM crm_user WHERE id = %s", [created.api_key.user_id])
    with rls.acting_as(firm.admin.pk):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE api_key SET revoked_at = now() WHERE id = %s", [created.api_key.pk])
        assert (
            refused("UPDATE api_key SET revoked_at = NULL WHERE id = %s", [created.api_key.pk])
            == CHECK_VIOLATION
        )
        assert (
            refused("UPDATE crm_user SET is_active = true WHERE id = %s", [created.api_key.user_id])
            == CHECK_VIOLATION
        )
        assert (
            refused("UPDATE api_key SET name = 'x' WHERE id = %s", [created.api_key.pk])
            == INSUFFICIENT_PRIVILEGE
        )
    user = User.objects.get(pk=created.api_key.user_id)
    assert not user.is_active and user.credentials_epoch == epoch + 1
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_by_id == firm.admin.pk
    assert context_of_key(created.key) == rls.ANONYMOUS
