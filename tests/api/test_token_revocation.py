"""Tokens die with the credentials they were issued under: a deactivation, a password change or a role
change ends every token issued before it, and a reactivation does not bring them back (crm migration 0010)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from crm.models import Membership
from crm.tokens import tokens_for
from tests.api.support import API, assert_problem, bearer, ok, refresh
from tests.conftest import Firm


def member_url(user: Any) -> str:
    return f"{API}/members/{Membership.objects.get(user=user).pk}/"


def test_tokens_from_before_a_deactivation_stay_dead_after_reactivation(firm: Firm, admin: APIClient) -> None:
    tokens = tokens_for(firm.manager)
    ok(bearer(tokens.access_token).get(f"{API}/me/"))
    ok(admin.patch(member_url(firm.manager), {"is_active": False}))
    ok(admin.patch(member_url(firm.manager), {"is_active": True}))
    body = assert_problem(bearer(tokens.access_token).get(f"{API}/me/"), 401)
    assert body["code"] == "token_revoked"
    assert assert_problem(refresh(tokens), 401)["code"] == "token_revoked"
    ok(bearer(tokens_for(firm.manager).access_token).get(f"{API}/me/"))  # signing in again works


def test_a_password_reset_ends_the_members_tokens(firm: Firm, admin: APIClient) -> None:
    tokens = tokens_for(firm.manager)
    ok(admin.patch(member_url(firm.manager), {"password": "Harbor-Reset-Pass-9"}))
    assert assert_problem(bearer(tokens.access_token).get(f"{API}/me/"), 401)["code"] == "token_revoked"
    assert assert_problem(refresh(tokens), 401)["code"] == "token_revoked"


def test_a_role_change_ends_the_members_tokens_and_a_name_change_does_not(
    firm: Firm, admin: APIClient
) -> None:
    tokens = tokens_for(firm.viewer)
    ok(admin.patch(member_url(firm.viewer), {"first_name": "Renamed"}))
    ok(bearer(tokens.access_token).get(f"{API}/me/"))
    ok(admin.patch(member_url(firm.viewer), {"role": "manager"}))
    assert assert_problem(bearer(tokens.access_token).get(f"{API}/me/"), 401)["code"] == "token_revoked"
    assert ok(bearer(tokens_for(firm.viewer).access_token).get(f"{API}/me/"))["role"] == "manager"


def test_other_members_tokens_are_untouched(firm: Firm, admin: APIClient) -> None:
    tokens = tokens_for(firm.other_manager)
    ok(admin.patch(member_url(firm.manager), {"is_active": False}))
    ok(bearer(tokens.access_token).get(f"{API}/me/"))


def test_a_token_without_the_credentials_claim_is_refused(firm: Firm) -> None:
    bare = RefreshToken.for_user(firm.manager)  # what simplejwt issues alone: no `cred`
    assert assert_problem(bearer(bare.access_token).get(f"{API}/me/"), 401)["code"] == "token_revoked"
    assert assert_problem(refresh(bare), 401)["code"] == "token_revoked"


def test_signing_in_issues_tokens_under_the_current_epoch(firm: Firm, admin: APIClient) -> None:
    firm.manager.set_password("Harbor-Epoch-Pass-3")
    firm.manager.save(update_fields=["password"])
    signed = ok(
        APIClient().post(
            f"{API}/auth/token/", {"email": firm.manager.email, "password": "Harbor-Epoch-Pass-3"}
        )
    )
    ok(bearer(signed["access"]).get(f"{API}/me/"))
    ok(refresh(signed["refresh"]))


def test_the_epoch_is_kept_by_the_database_alone(firm: Firm) -> None:
    def epoch() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT credentials_epoch FROM crm_user WHERE id = %s", [firm.manager.pk])
            return int(cursor.fetchone()[0])

    before = epoch()
    with connection.cursor() as cursor:  # raw SQL, as the owner: the triggers still count
        cursor.execute("UPDATE crm_user SET first_name = 'X' WHERE id = %s", [firm.manager.pk])
        assert epoch() == before
        cursor.execute("UPDATE crm_user SET is_active = false WHERE id = %s", [firm.manager.pk])
        cursor.execute("UPDATE crm_user SET is_active = true WHERE id = %s", [firm.manager.pk])
        assert epoch() == before + 2
        cursor.execute("UPDATE membership SET role = 'viewer' WHERE user_id = %s", [firm.manager.pk])
        assert epoch() == before + 3
        cursor.execute("UPDATE crm_user SET password = 'x' WHERE id = %s", [firm.manager.pk])
        assert epoch() == before + 4
