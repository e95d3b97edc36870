"""Sign-in at its edges: bounded input, tokens whose claims no clock or epoch can hold, and browser
sessions that end with the credentials they were opened under."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from crm.models import Membership, Role, User
from crm.tokens import tokens_for
from tests import factories as f
from tests.api.support import API, assert_problem, bearer, ok, refresh
from tests.conftest import Firm

TOKEN_URL = f"{API}/auth/token/"
PASSWORD = "Harbor-Edges-Pass-1"


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("email", "a" * 243 + "@example.test", 254), ("password", "p" * 1025, 1024)],
)
def test_an_overlong_email_or_password_is_a_400_naming_the_field(
    firm: Firm, field: str, value: str, limit: int
) -> None:
    body = {"email": firm.manager.email, "password": "whatever", field: value}
    problem = assert_problem(
        APIClient().post(TOKEN_URL, body, format="json"), 400, field=field, code="max_length"
    )
    assert str(limit) in str(problem["errors"])


def test_a_megabyte_email_is_refused_before_anything_is_counted(firm: Firm) -> None:
    body = {"email": "x" * 1_000_000, "password": "whatever"}
    client = APIClient()
    response = client.post(TOKEN_URL, body, format="json")
    assert response.status_code in (400, 413)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM signin_failure")
        assert cursor.fetchone()[0] == 0


def test_the_schema_states_the_limits() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    properties = schema["components"]["schemas"]["TokenObtainPairRequest"]["properties"]
    assert properties["email"]["maxLength"] == 254
    assert properties["password"]["maxLength"] == 1024


def test_an_access_token_expiring_beyond_any_date_is_a_401(firm: Firm) -> None:
    token = tokens_for(firm.manager).access_token
    token["exp"] = 1e30
    assert_problem(bearer(token).get(f"{API}/me/"), 401)


def test_a_refresh_token_expiring_beyond_any_date_is_a_401(firm: Firm) -> None:
    token = tokens_for(firm.manager)
    token["exp"] = 1e30
    assert_problem(refresh(token), 401)


def test_a_refresh_token_with_a_float_epoch_is_refused_as_access_tokens_are(firm: Firm) -> None:
    token = tokens_for(firm.manager)
    token["cred"] = float(token["cred"])  # the same number, as a float
    assert_problem(bearer(token.access_token).get(f"{API}/me/"), 401, code=None)
    body = assert_problem(refresh(token), 401)
    assert body["code"] == "token_revoked"


def member_url(user: User) -> str:
    return f"{API}/members/{Membership.objects.get(user=user).pk}/"


def browser_of(user: User) -> Client:
    browser = Client()
    browser.force_login(User.objects.get(pk=user.pk))  # the stored epoch, as a real sign-in reads it
    return browser


def test_a_browser_session_ends_when_the_member_is_deactivated_and_stays_ended_after_reactivation(
    firm: Firm,
) -> None:
    api_session, admin_session = browser_of(firm.manager), browser_of(firm.admin)
    ok(api_session.get(f"{API}/me/"))
    assert admin_session.get("/admin/").status_code == 200
    second_admin = f.MembershipFactory(
        tenant=firm.tenant, role=Role.ADMIN
    ).user  # nobody deactivates themselves
    by_second_admin = bearer(tokens_for(second_admin).access_token)
    for user in (firm.manager, firm.admin):
        ok(by_second_admin.patch(member_url(user), {"is_active": False}, format="json"))
        ok(by_second_admin.patch(member_url(user), {"is_active": True}, format="json"))
    assert_problem(api_session.get(f"{API}/me/"), 401)
    assert admin_session.get("/admin/").status_code == 302  # back to the sign-in form


def test_changing_ones_own_password_keeps_this_browser_signed_in(firm: Firm) -> None:
    firm.manager.set_password(PASSWORD)
    firm.manager.save(update_fields=["password"])
    session = browser_of(firm.manager)
    other_session = browser_of(firm.manager)
    ok(
        session.post(
            f"{API}/me/password/",
            {"current_password": PASSWORD, "new_password": "Harbor-Edges-Pass-2"},
            content_type="application/json",
        )
    )
    ok(session.get(f"{API}/me/"))
    assert_problem(other_session.get(f"{API}/me/"), 401)
