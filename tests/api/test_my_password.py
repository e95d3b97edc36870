"""A member changes their own password with the current one: POST /api/v1/me/password/."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from crm.tokens import tokens_for
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

URL = f"{API}/me/password/"
OLD, NEW = "Harbor-Mine-Old-1", "Harbor-Mine-New-2"


def signed_in(user: Any) -> APIClient:
    user.set_password(OLD)
    user.save(update_fields=["password"])
    client = APIClient(REMOTE_ADDR="203.0.113.80")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
    return client


def sign_in(email: str, password: str) -> int:
    return APIClient().post(f"{API}/auth/token/", {"email": email, "password": password}).status_code


def test_a_member_changes_their_password_and_gets_new_tokens(firm: Firm) -> None:
    client = signed_in(firm.manager)
    body = ok(client.post(URL, {"current_password": OLD, "new_password": NEW}))
    assert set(body) == {"access", "refresh"}
    assert sign_in(firm.manager.email, OLD) == 401
    assert sign_in(firm.manager.email, NEW) == 200
    # The token that made the change is dead; the new ones work.
    assert assert_problem(client.get(f"{API}/me/"), 401)["code"] == "token_revoked"
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert ok(fresh.get(f"{API}/me/"))["id"] == firm.manager.pk


def test_a_viewer_may_change_their_own_password(firm: Firm) -> None:
    ok(signed_in(firm.viewer).post(URL, {"current_password": OLD, "new_password": NEW}))
    assert sign_in(firm.viewer.email, NEW) == 200


def test_a_wrong_current_password_is_a_403_and_counts_as_a_failed_sign_in(firm: Firm) -> None:
    client = signed_in(firm.manager)
    for _ in range(5):
        body = assert_problem(
            client.post(URL, {"current_password": "guess", "new_password": NEW}),
            403,
            field="current_password",
        )
        assert body["code"] == body["errors"][0]["code"] == "wrong_password"
    locked = client.post(URL, {"current_password": OLD, "new_password": NEW})
    assert assert_problem(locked, 429)["code"] == "signin_locked"
    assert int(locked["Retry-After"]) > 0
    assert sign_in(firm.manager.email, OLD) == 429  # the account is locked for sign-in too


def test_the_new_password_must_differ_from_the_current_one(firm: Firm) -> None:
    client = signed_in(firm.manager)
    assert_problem(
        client.post(URL, {"current_password": OLD, "new_password": OLD}), 400, field="new_password"
    )
    assert ok(client.get(f"{API}/me/"))["id"] == firm.manager.pk  # nothing changed: the token still works


def test_a_weak_new_password_is_refused_with_the_validators_messages(firm: Firm) -> None:
    client = signed_in(firm.manager)
    body = assert_problem(
        client.post(URL, {"current_password": OLD, "new_password": "12345"}), 400, field="new_password"
    )
    assert {e["code"] for e in body["errors"]} >= {"password_too_short", "password_too_common"}
    assert sign_in(firm.manager.email, OLD) == 200


def test_both_fields_are_required_and_nobody_unsigned_may_call_it(firm: Firm) -> None:
    client = signed_in(firm.manager)
    body = assert_problem(client.post(URL, {}), 400)
    assert {e["field"] for e in body["errors"]} == {"current_password", "new_password"}
    assert_problem(APIClient().post(URL, {"current_password": OLD, "new_password": NEW}), 401)
