"""Signing in (JWT obtain and refresh), rejected credentials, and /me/."""

from __future__ import annotations

import time

from rest_framework.test import APIClient

from crm.tokens import tokens_for
from tests import factories as f
from tests.api.support import API, assert_problem, bearer, ok
from tests.conftest import client_for

PASSWORD = "pw-for-tests-1"


def test_token_is_obtained_with_email_and_password_and_opens_the_api(firm):
    tokens = ok(APIClient().post(f"{API}/auth/token/", {"email": firm.manager.email, "password": PASSWORD}))
    assert set(tokens) == {"access", "refresh"}
    me = ok(bearer(tokens["access"]).get(f"{API}/me/"))
    assert me["id"] == firm.manager.pk


def test_token_email_is_case_insensitive(firm):
    response = APIClient().post(
        f"{API}/auth/token/", {"email": firm.manager.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.content


def test_refresh_token_gives_a_working_access_token(firm):
    tokens = ok(APIClient().post(f"{API}/auth/token/", {"email": firm.admin.email, "password": PASSWORD}))
    refreshed = ok(APIClient().post(f"{API}/auth/token/refresh/", {"refresh": tokens["refresh"]}))
    assert ok(bearer(refreshed["access"]).get(f"{API}/me/"))["role"] == "admin"


def test_garbage_refresh_token_is_401_problem_with_a_readable_detail(firm):
    body = assert_problem(APIClient().post(f"{API}/auth/token/refresh/", {"refresh": "garbage"}), 401)
    assert body["detail"].startswith("Token is invalid"), body["detail"]


def test_access_token_cannot_be_used_as_refresh_token(firm):
    access = str(tokens_for(firm.manager).access_token)
    assert_problem(APIClient().post(f"{API}/auth/token/refresh/", {"refresh": access}), 401)


def test_bad_password_is_401_problem(firm):
    response = APIClient().post(f"{API}/auth/token/", {"email": firm.manager.email, "password": "wrong-one"})
    assert_problem(response, 401)


def test_unknown_email_is_401_problem_like_a_bad_password(firm):
    response = APIClient().post(f"{API}/auth/token/", {"email": "nobody@example.test", "password": PASSWORD})
    body = assert_problem(response, 401)
    bad_password = APIClient().post(
        f"{API}/auth/token/", {"email": firm.manager.email, "password": "wrong-one"}
    )
    assert body["detail"] == bad_password.json()["detail"]


def test_token_request_without_password_is_400_naming_the_field(firm):
    response = APIClient().post(f"{API}/auth/token/", {"email": firm.manager.email})
    assert_problem(response, 400, field="password", code="required")


def test_inactive_user_cannot_obtain_a_token(firm):
    firm.manager.is_active = False
    firm.manager.save()
    response = APIClient().post(f"{API}/auth/token/", {"email": firm.manager.email, "password": PASSWORD})
    assert_problem(response, 401)


def test_expired_access_token_is_401_problem(firm):
    token = tokens_for(firm.manager).access_token
    token["exp"] = int(time.time()) - 60
    response = bearer(str(token)).get(f"{API}/organizations/")
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response


def test_garbage_bearer_is_401_problem(firm):
    assert_problem(bearer("not.a.jwt").get(f"{API}/organizations/"), 401)


def test_token_signed_with_another_key_is_401(firm):
    token = tokens_for(firm.manager).access_token
    header, payload, signature = str(token).split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_problem(bearer(forged).get(f"{API}/organizations/"), 401)


def test_no_credentials_is_401_problem_with_authenticate_header(firm):
    response = APIClient().get(f"{API}/organizations/")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_on_a_write_is_rejected_and_writes_nothing(firm):
    response = APIClient().post(f"{API}/organizations/", {"name": "Sneaky", "type": "customer"})
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"
    names = [o["name"] for o in ok(client_for(firm.admin).get(f"{API}/organizations/"))["results"]]
    assert "Sneaky" not in names


def test_valid_token_of_a_user_without_a_firm_is_401(db):
    loner = f.UserFactory()
    assert_problem(client_for(loner).get(f"{API}/organizations/"), 401)


def test_deactivated_member_token_stops_working(firm):
    client = client_for(firm.manager)
    assert client.get(f"{API}/me/").status_code == 200
    firm.manager.is_active = False
    firm.manager.save()
    assert_problem(client.get(f"{API}/me/"), 401)


def test_me_shows_user_firm_role_and_book(firm, manager):
    me = ok(manager.get(f"{API}/me/"))
    assert me["email"] == firm.manager.email
    assert me["tenant"] == {"id": firm.tenant.pk, "name": firm.tenant.name, "time_zone": "UTC"}
    assert (me["time_zone"], me["day_time_zone"]) == (None, "UTC")
    assert me["role"] == "manager"
    assert me["book"] == [{"id": firm.principal_a.pk, "name": firm.principal_a.name}]


def test_me_of_an_admin_lists_every_principal_as_the_book(firm, admin, other_firm):
    me = ok(admin.get(f"{API}/me/"))
    assert me["role"] == "admin"
    assert [p["id"] for p in me["book"]] == [firm.principal_a.pk, firm.principal_b.pk]


def test_me_of_a_viewer_shows_viewer_role(firm, viewer):
    me = ok(viewer.get(f"{API}/me/"))
    assert me["role"] == "viewer" and [p["id"] for p in me["book"]] == [firm.principal_a.pk]


def test_me_without_credentials_is_401(db):
    assert_problem(APIClient().get(f"{API}/me/"), 401)
