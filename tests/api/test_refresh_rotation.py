"""Refresh tokens rotate: each refresh spends the token sent and issues the next of its family; a spent
token sent again ends the whole family (reuse detection), and signing out ends the presented token's family
(crm migration 0022, ADR 0017)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from crm import rls
from crm.tokens import tokens_for
from tests.api.support import API, assert_problem, bearer, ok, refresh
from tests.conftest import Firm
from tests.rls.support import INSUFFICIENT_PRIVILEGE

PASSWORD = "Harbor-Rotation-Pass-7"


def sign_out(token: Any) -> Any:
    return APIClient().post(f"{API}/auth/logout/", {"refresh": str(token)})


def family_row(token: str) -> tuple[int, str | None]:
    """(generation, revoked_because) of the token's family, read as the owner."""
    family = RefreshToken(token)["fam"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation, revoked_because FROM refresh_token_family WHERE id = %s", [family])
        generation, because = cursor.fetchone()
    return int(generation), because


@pytest.fixture
def signed_in(firm: Firm) -> dict[str, str]:
    firm.manager.set_password(PASSWORD)
    firm.manager.save(update_fields=["password"])
    body = {"email": firm.manager.email, "password": PASSWORD}
    return dict(ok(APIClient().post(f"{API}/auth/token/", body)))


def test_a_refresh_answers_a_new_access_token_and_the_next_refresh_token(signed_in: dict[str, str]) -> None:
    first = signed_in["refresh"]
    renewed = ok(refresh(first))
    assert set(renewed) == {"access", "refresh"}
    assert renewed["refresh"] != first
    assert RefreshToken(renewed["refresh"])["fam"] == RefreshToken(first)["fam"]
    ok(bearer(renewed["access"]).get(f"{API}/me/"))
    again = ok(refresh(renewed["refresh"]))  # the next one is current in its turn
    ok(bearer(again["access"]).get(f"{API}/me/"))
    assert family_row(first) == (2, None)


def test_a_spent_refresh_token_sent_again_ends_its_whole_family(signed_in: dict[str, str]) -> None:
    first = signed_in["refresh"]
    second = ok(refresh(first))["refresh"]
    body = assert_problem(refresh(first), 401)
    assert body["code"] == "token_reused"
    # The revocation was committed with the 401 (a problem rolls the request's writes back otherwise).
    assert family_row(first) == (1, "reused")
    # The thief's copy and the owner's newer token alike are refused now.
    assert assert_problem(refresh(second), 401)["code"] == "token_revoked"
    assert assert_problem(refresh(first), 401)["code"] == "token_revoked"


def test_reuse_of_any_older_generation_ends_the_family(firm: Firm) -> None:
    chain = [str(tokens_for(firm.manager))]
    for _ in range(3):
        chain.append(ok(refresh(chain[-1]))["refresh"])
    assert assert_problem(refresh(chain[1]), 401)["code"] == "token_reused"
    assert assert_problem(refresh(chain[-1]), 401)["code"] == "token_revoked"


def test_another_sign_in_of_the_same_user_is_untouched(firm: Firm) -> None:
    phone, laptop = tokens_for(firm.manager), tokens_for(firm.manager)
    ok(refresh(phone))
    assert_problem(refresh(phone), 401)  # the phone's family ends
    laptop_next = ok(refresh(laptop))["refresh"]
    assert sign_out(phone).status_code == 204
    ok(refresh(laptop_next))


def test_signing_out_ends_the_family_and_is_idempotent(firm: Firm) -> None:
    first = str(tokens_for(firm.manager))
    second = ok(refresh(first))["refresh"]
    response = sign_out(second)
    assert response.status_code == 204 and response.content == b""
    assert family_row(first) == (1, "signed_out")
    assert assert_problem(refresh(second), 401)["code"] == "token_revoked"
    assert sign_out(second).status_code == 204


def test_signing_out_with_a_spent_token_ends_the_family_too(firm: Firm) -> None:
    first = str(tokens_for(firm.manager))
    second = ok(refresh(first))["refresh"]
    assert sign_out(first).status_code == 204
    assert assert_problem(refresh(second), 401)["code"] == "token_revoked"


@pytest.mark.parametrize("token", ["not-a-token", "x" * 5000])
def test_signing_out_with_a_bad_token_is_a_problem(db: Any, token: str) -> None:
    response = sign_out(token)
    assert response.status_code in (400, 401)
    assert_problem(response, response.status_code)


def test_signing_out_with_an_access_token_is_a_401(firm: Firm) -> None:
    body = assert_problem(sign_out(tokens_for(firm.manager).access_token), 401)
    assert body["code"] == "token_not_valid"


def test_a_refresh_token_without_a_family_is_refused(firm: Firm) -> None:
    token = tokens_for(firm.manager)
    del token["fam"]
    assert assert_problem(refresh(token), 401)["code"] == "token_revoked"
    token = tokens_for(firm.manager)
    token["gen"] = "0"
    assert assert_problem(refresh(token), 401)["code"] == "token_revoked"


def test_a_password_change_still_ends_every_family(firm: Firm) -> None:
    token = tokens_for(firm.manager)
    firm.manager.set_password("Harbor-Changed-Pass-8")
    firm.manager.save(update_fields=["password"])
    assert assert_problem(refresh(token), 401)["code"] == "token_revoked"


# --- the table is the owner's ---------------------------------------------------------------------------


def test_the_runtime_role_cannot_read_or_change_the_families(firm: Firm, other_firm: Firm) -> None:
    tokens_for(other_firm.manager)
    for statement in (
        "SELECT count(*) FROM refresh_token_family",
        "UPDATE refresh_token_family SET revoked_at = NULL, revoked_because = NULL",
        "DELETE FROM refresh_token_family",
    ):
        with (
            rls.acting_as(firm.manager.pk),
            connection.cursor() as cursor,
            pytest.raises(ProgrammingError, match="permission denied"),
            transaction.atomic(),
        ):
            cursor.execute(statement)


def test_the_runtime_role_opens_a_family_only_for_its_own_user(firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk), connection.cursor() as cursor:
        cursor.execute("SELECT crm_refresh_family_open(%s, now() + interval '1 day')", [firm.manager.pk])
        assert cursor.fetchone()[0] is not None
        with pytest.raises(ProgrammingError) as refused, transaction.atomic():
            cursor.execute("SELECT crm_refresh_family_open(%s, now() + interval '1 day')", [firm.admin.pk])
        assert getattr(refused.value.__cause__, "sqlstate", "") == INSUFFICIENT_PRIVILEGE


def test_another_users_family_cannot_be_revoked_or_traded_by_its_id(firm: Firm) -> None:
    victim = str(tokens_for(firm.admin))
    family = RefreshToken(victim)["fam"]
    with rls.acting_as(firm.manager.pk), connection.cursor() as cursor:
        cursor.execute("SELECT crm_refresh_revoke(%s, %s)", [family, firm.manager.pk])
        cursor.execute("SELECT crm_refresh_rotate(%s, %s, 0, now())", [family, firm.manager.pk])
        assert cursor.fetchone()[0] == "revoked"
    assert family_row(victim) == (0, None)
    ok(refresh(victim))


# --- the schema -----------------------------------------------------------------------------------------


def test_the_schema_describes_rotation_and_sign_out(db: Any) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    refreshed = schema["paths"]["/api/v1/auth/token/refresh/"]["post"]["responses"]["200"]
    component = refreshed["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][component]["required"]) == {"access", "refresh"}
    logout = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert "204" in logout["responses"] and "401" in logout["responses"]
    assert logout["operationId"] == "auth_logout"
