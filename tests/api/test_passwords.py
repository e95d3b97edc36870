"""An admin resets a member's password: the new one signs in, the old one no longer does, and the member's
browser sessions end with it."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from crm.models import Membership
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

OLD, NEW = "Harbor-Old-Pass-1", "Harbor-New-Pass-2"


def sign_in(email: str, password: str) -> int:
    return APIClient().post(f"{API}/auth/token/", {"email": email, "password": password}).status_code


def member_url(firm: Firm, user: Any) -> str:
    return f"{API}/members/{Membership.objects.get(user=user).pk}/"


def with_password(user: Any, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def test_an_admin_reset_replaces_the_password(firm: Firm, admin: APIClient) -> None:
    with_password(firm.manager, OLD)
    assert sign_in(firm.manager.email, OLD) == 200
    body = ok(admin.patch(member_url(firm, firm.manager), {"password": NEW}))
    assert "password" not in body
    assert sign_in(firm.manager.email, OLD) == 401
    assert sign_in(firm.manager.email, NEW) == 200


def test_a_weak_new_password_is_a_400_with_the_validators_messages(firm: Firm, admin: APIClient) -> None:
    with_password(firm.manager, OLD)
    body = assert_problem(
        admin.patch(member_url(firm, firm.manager), {"password": "123"}), 400, field="password"
    )
    assert {e["code"] for e in body["errors"]} >= {"password_too_short", "password_too_common"}
    assert sign_in(firm.manager.email, OLD) == 200


def test_only_an_admin_resets_and_only_in_their_firm(
    firm: Firm, other_firm: Firm, manager: APIClient, admin: APIClient
) -> None:
    with_password(firm.other_manager, OLD)
    assert_problem(manager.patch(member_url(firm, firm.other_manager), {"password": NEW}), 403)
    assert_problem(admin.patch(member_url(other_firm, other_firm.manager), {"password": NEW}), 404)
    assert sign_in(firm.other_manager.email, OLD) == 200


def test_a_reset_ends_the_members_sessions(firm: Firm, admin: APIClient) -> None:
    with_password(firm.manager, OLD)
    browser = Client()
    browser.force_login(firm.manager)
    assert browser.get(f"{API}/me/").status_code == 200
    ok(admin.patch(member_url(firm, firm.manager), {"password": NEW}))
    assert browser.get(f"{API}/me/").status_code in (401, 403)
