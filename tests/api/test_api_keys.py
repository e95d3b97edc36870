"""API keys over HTTP: an admin creates one (the secret shown once, only its hash kept), the key acts exactly
as a member with its role and book would, history names it, and an unknown, revoked, expired or another
firm's key is the same 401 (crm.api_keys, crm migration 0023)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import ApiKey, ApiKeySecret, HistoryEntry, Membership, User
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for

URL = f"{API}/api-keys/"
KEY = re.compile(r"crm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def create_key(admin: APIClient, **body: Any) -> dict[str, Any]:
    response = admin.post(URL, {"name": "BI export", "role": "viewer", **body})
    created: dict[str, Any] = ok(response, 201)
    assert response["Location"] == f"http://testserver{URL}{created['id']}/"  # as every create's 201
    return created


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def product_ids(client: APIClient) -> set[int]:
    return {row["id"] for row in ok(client.get(f"{API}/products/?page_size=200"))["results"]}


def as_owner(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_creating_a_key_shows_the_secret_once_and_keeps_only_its_hash(firm: Firm, admin: APIClient) -> None:
    created = create_key(admin, book=[firm.principal_a.pk])
    found = KEY.fullmatch(created["key"])
    assert found is not None
    assert created["key_id"] == found[1] and created["role"] == "viewer"
    assert created["book"] == [firm.principal_a.pk] and created["last_used_at"] is None
    listed = ok(admin.get(URL))["results"]
    assert [row["id"] for row in listed] == [created["id"]]
    assert "key" not in listed[0] and "key" not in ok(admin.get(f"{URL}{created['id']}/"))
    secret = found[2]
    stored = ApiKeySecret.objects.get(api_key_id=created["id"])
    assert bytes(stored.digest) == hashlib.sha256(secret.encode()).digest()
    api_key = ApiKey.objects.select_related("user").get(pk=created["id"])
    assert secret not in repr(vars(api_key)) and secret not in repr(vars(api_key.user))
    # Random, and not guessable from one another.
    assert create_key(admin)["key"][4:] != created["key"][4:]


def test_a_viewer_key_with_a_one_principal_book_sees_exactly_that(firm: Firm, admin: APIClient) -> None:
    in_book = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    key = with_key(create_key(admin, role="viewer", book=[firm.principal_a.pk])["key"])
    assert product_ids(key) == {in_book.pk}
    assert product_ids(key) == product_ids(client_for(firm.viewer))  # the viewer whose book is principal_a
    me = ok(key.get(f"{API}/me/"))
    assert me["role"] == "viewer" and [p["id"] for p in me["book"]] == [firm.principal_a.pk]
    body = {"principal": firm.principal_a.pk, "name": "Fries", "sku": "FRY1", "category": "frozen"}
    assert_problem(key.post(f"{API}/products/", body), 403)


def test_a_manager_key_writes_within_its_book_and_history_names_the_key(firm: Firm, admin: APIClient) -> None:
    created = create_key(admin, name="Field app", role="manager", book=[firm.principal_a.pk])
    key = with_key(created["key"])
    body = {"name": "Waffle Fries", "sku": "WAF12", "category": "frozen", "list_price": "28.75"}
    product = ok(key.post(f"{API}/products/", {**body, "principal": firm.principal_a.pk}), 201)
    assert_problem(
        key.post(f"{API}/products/", {**body, "principal": firm.principal_b.pk}), 400, field="principal"
    )
    entries = ok(key.get(f"{API}/products/{product['id']}/history/"))["results"]
    assert [(e["operation"], e["actor"]) for e in entries] == [("insert", created["user"])]
    entry = HistoryEntry.objects.get(table_name="product", row_id=product["id"])
    assert str(User.objects.get(pk=entry.actor_id)) == "Field app (API key)"


def test_revoking_a_key_refuses_it_at_once(firm: Firm, admin: APIClient) -> None:
    created = create_key(admin, role="manager", book=[firm.principal_a.pk])
    key = with_key(created["key"])
    ok(key.get(f"{API}/products/"))
    revoked = ok(admin.post(f"{URL}{created['id']}/revoke/"))
    assert revoked["revoked_at"] is not None and revoked["revoked_by"] == firm.admin.pk
    assert assert_problem(key.get(f"{API}/products/"), 401)["code"] == "api_key_not_valid"
    assert not User.objects.get(pk=created["user"]).is_active
    ok(admin.post(f"{URL}{created['id']}/revoke/"))  # again: nothing changes
    assert ok(admin.get(f"{URL}{created['id']}/"))["revoked_at"] == revoked["revoked_at"]


def test_an_expired_key_is_refused(firm: Firm, admin: APIClient) -> None:
    soon = timezone.now() + timedelta(days=30)
    created = create_key(admin, expires_at=soon.isoformat())
    key = with_key(created["key"])
    ok(key.get(f"{API}/me/"))
    as_owner("UPDATE api_key SET expires_at = now() - interval '1 second' WHERE id = %s", [created["id"]])
    assert assert_problem(key.get(f"{API}/me/"), 401)["code"] == "api_key_not_valid"
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert_problem(
        admin.post(URL, {"name": "Old", "role": "viewer", "expires_at": past}), 400, field="expires_at"
    )


def test_last_use_is_recorded_at_most_once_a_minute(firm: Firm, admin: APIClient) -> None:
    created = create_key(admin)
    key = with_key(created["key"])
    ok(key.get(f"{API}/me/"))
    first = ApiKey.objects.get(pk=created["id"]).last_used_at
    assert first is not None
    assert ok(admin.get(f"{URL}{created['id']}/"))["last_used_at"] is not None
    recent = timezone.now() - timedelta(seconds=30)
    as_owner("UPDATE api_key SET last_used_at = %s WHERE id = %s", [recent, created["id"]])
    ok(key.get(f"{API}/me/"))
    assert ApiKey.objects.get(pk=created["id"]).last_used_at == recent
    as_owner("UPDATE api_key SET last_used_at = now() - interval '2 minutes' WHERE id = %s", [created["id"]])
    ok(key.get(f"{API}/me/"))
    assert ApiKey.objects.get(pk=created["id"]).last_used_at > recent  # type: ignore[operator]


def test_unknown_wrong_revoked_and_malformed_keys_get_the_same_401(
    firm: Firm, other_firm: Firm, admin: APIClient
) -> None:
    own = create_key(admin)
    theirs = create_key(client_for(other_firm.admin))
    revoked = create_key(admin)
    ok(admin.post(f"{URL}{revoked['id']}/revoke/"))
    wrong_secret = "A" * 43
    presented = [
        f"crm_{'0' * 16}_{wrong_secret}",  # no such key
        f"crm_{theirs['key_id']}_{wrong_secret}",  # another firm's key id
        f"crm_{own['key_id']}_{wrong_secret}",  # this firm's key id, a wrong secret
        revoked["key"],
        "not-a-key",
        own["key"] + "x",
    ]
    bodies = []
    for key in presented:
        body = assert_problem(with_key(key).get(f"{API}/organizations/"), 401)
        body.pop("request_id")
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies), bodies
    assert bodies[0]["code"] == "api_key_not_valid"


def test_another_firms_key_sees_its_own_firm_only(firm: Firm, other_firm: Firm) -> None:
    theirs = with_key(create_key(client_for(other_firm.admin), role="manager")["key"])
    ours = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    assert ours.pk not in product_ids(theirs)
    assert_problem(theirs.get(f"{API}/products/{ours.pk}/"), 404)


def test_a_key_cannot_reach_admin_endpoints_and_is_never_an_admin(firm: Firm, admin: APIClient) -> None:
    key = with_key(create_key(admin, role="manager", book=[firm.principal_a.pk])["key"])
    assert_problem(key.get(URL), 403)
    assert_problem(key.post(URL, {"name": "Mine", "role": "viewer"}), 403)
    assert_problem(key.post(f"{API}/members/", {"email": "new@example.test", "role": "admin"}), 403)
    assert_problem(key.post(f"{API}/me/password/", {"current_password": "x", "new_password": "y"}), 401)
    assert_problem(admin.post(URL, {"name": "Root", "role": "admin"}), 400, field="role")
    assert_problem(client_for(firm.manager).get(URL), 403)  # nor may a manager see the firm's keys


def test_a_book_outside_the_firm_is_refused(firm: Firm, other_firm: Firm, admin: APIClient) -> None:
    body = {"name": "X", "role": "viewer", "book": [other_firm.principal_a.pk]}
    assert_problem(admin.post(URL, body), 400, field="book")
    assert_problem(admin.post(URL, {**body, "book": [firm.customer.pk]}), 400, field="book")
    assert not ApiKey.objects.exists()


def test_the_keys_user_cannot_sign_in_and_is_not_listed_as_a_member(firm: Firm, admin: APIClient) -> None:
    created = create_key(admin, role="manager")
    user = User.objects.get(pk=created["user"])
    assert not user.has_usable_password() and user.email.endswith("@api-keys.invalid")
    signin = APIClient().post(f"{API}/auth/token/", {"email": user.email, "password": "anything-at-all"})
    assert_problem(signin, 401)
    members = {row["user"] for row in ok(admin.get(f"{API}/members/?page_size=200"))["results"]}
    assert created["user"] not in members and firm.manager.pk in members
    membership = Membership.objects.get(user=user)
    assert_problem(admin.patch(f"{API}/members/{membership.pk}/", {"password": "Harbor-Reset-Pass-9"}), 404)
