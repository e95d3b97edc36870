"""/members/: admins add members, change roles and deactivate them; everyone else sees only themselves."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/members/"
STRONG_PASSWORD = "Harbor-Grill-2026!"


def test_admin_creates_a_member_who_can_then_sign_in(firm, admin):
    body = ok(
        admin.post(
            URL,
            {
                "email": "New.Rep@Acme.test",
                "first_name": "Nia",
                "last_name": "Rep",
                "role": "manager",
                "password": STRONG_PASSWORD,
            },
        ),
        201,
    )
    assert body["email"] == "new.rep@acme.test" and body["role"] == "manager" and body["is_active"] is True
    assert "password" not in body and body["book"] == []
    tokens = ok(
        APIClient().post(f"{API}/auth/token/", {"email": "new.rep@acme.test", "password": STRONG_PASSWORD})
    )
    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = ok(signed_in.get(f"{API}/me/"))
    assert me["role"] == "manager" and me["tenant"]["id"] == firm.tenant.pk and me["book"] == []


def test_weak_password_is_400_naming_password_and_adds_no_member(firm, admin):
    body = assert_problem(
        admin.post(URL, {"email": "weak@acme.test", "role": "manager", "password": "123"}),
        400,
        field="password",
    )
    assert {e["code"] for e in body["errors"]} >= {"password_too_short", "password_too_common"}
    assert "weak@acme.test" not in {r["email"] for r in ok(admin.get(URL))["results"]}


def test_password_is_checked_against_the_new_members_own_email(firm, admin, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"}
    ]
    response = admin.post(
        URL, {"email": "harbor.grillmaster@acme.test", "role": "manager", "password": "harborgrillmaster"}
    )
    body = assert_problem(response, 400, field="password")
    assert "password_too_similar" in {e["code"] for e in body["errors"]}


def test_member_created_without_password_cannot_sign_in(firm, admin):
    ok(admin.post(URL, {"email": "nopass@acme.test", "role": "viewer"}), 201)
    response = APIClient().post(f"{API}/auth/token/", {"email": "nopass@acme.test", "password": ""})
    assert response.status_code in (400, 401)


def test_admin_lists_every_member_of_the_firm_only(firm, other_firm, admin):
    rows = ok(admin.get(URL))["results"]
    assert {r["user"] for r in rows} == {
        firm.admin.pk,
        firm.manager.pk,
        firm.other_manager.pk,
        firm.viewer.pk,
    }


def test_member_rows_show_their_book(firm, admin):
    rows = {r["user"]: r for r in ok(admin.get(URL))["results"]}
    assert rows[firm.manager.pk]["book"] == [firm.principal_a.pk]
    assert rows[firm.other_manager.pk]["book"] == [firm.principal_b.pk]
    assert rows[firm.admin.pk]["role"] == "admin"


def test_manager_lists_only_themselves(firm, manager):
    rows = ok(manager.get(URL))["results"]
    assert [r["user"] for r in rows] == [firm.manager.pk]


def test_manager_cannot_read_another_member(firm, manager):
    assert_problem(manager.get(f"{URL}{firm.admin.membership.pk}/"), 404)


def test_manager_cannot_create_members(firm, manager):
    response = manager.post(URL, {"email": "sneaky@acme.test", "role": "admin", "password": STRONG_PASSWORD})
    assert_problem(response, 403)
    sign_in = APIClient().post(
        f"{API}/auth/token/", {"email": "sneaky@acme.test", "password": STRONG_PASSWORD}
    )
    assert sign_in.status_code == 401


def test_manager_cannot_change_their_own_role(firm, manager):
    assert_problem(manager.patch(f"{URL}{firm.manager.membership.pk}/", {"role": "admin"}), 403)


def test_viewer_cannot_create_members(firm, viewer):
    assert_problem(viewer.post(URL, {"email": "v@acme.test", "role": "viewer"}), 403)


def test_admin_changes_a_members_role_and_it_takes_effect(firm, admin, viewer, api):
    body = ok(
        admin.patch(f"{URL}{firm.viewer.membership.pk}/", {"role": "manager", "first_name": "Promoted"})
    )
    assert body["role"] == "manager" and body["first_name"] == "Promoted"
    # Tokens issued under the old role are dead; signing in again brings the new one.
    stale = viewer.post(f"{API}/organizations/", {"name": "Now I can write", "type": "prospect"})
    assert_problem(stale, 401, code="token_revoked")
    created = api(firm.viewer).post(f"{API}/organizations/", {"name": "Now I can write", "type": "prospect"})
    assert created.status_code == 201, created.content


def test_admin_cannot_change_their_own_role(firm, admin):
    response = admin.patch(f"{URL}{firm.admin.membership.pk}/", {"role": "viewer"})
    assert_problem(response, 400, field="role")


def test_email_cannot_change(firm, admin):
    response = admin.patch(f"{URL}{firm.manager.membership.pk}/", {"email": "other@acme.test"})
    assert_problem(response, 400, field="email")


def test_email_already_in_use_is_400(firm, other_firm, admin):
    response = admin.post(URL, {"email": other_firm.manager.email.upper(), "role": "manager"})
    assert_problem(response, 400, field="email")


def test_unknown_role_is_400(firm, admin):
    assert_problem(
        admin.post(URL, {"email": "x@acme.test", "role": "owner"}), 400, field="role", code="invalid_choice"
    )


def test_delete_deactivates_the_member_who_can_no_longer_sign_in(firm, admin, manager):
    assert admin.delete(f"{URL}{firm.manager.membership.pk}/").status_code == 204
    body = ok(admin.get(f"{URL}{firm.manager.membership.pk}/"))
    assert body["is_active"] is False
    assert_problem(manager.get(f"{API}/me/"), 401)
    response = APIClient().post(
        f"{API}/auth/token/", {"email": firm.manager.email, "password": "pw-for-tests-1"}
    )
    assert_problem(response, 401)


def test_admin_cannot_deactivate_themselves(firm, admin):
    assert_problem(admin.delete(f"{URL}{firm.admin.membership.pk}/"), 400)
    assert ok(admin.get(f"{API}/me/"))["role"] == "admin"


def test_admin_cannot_see_or_change_another_firms_members(firm, other_firm, admin):
    membership = other_firm.manager.membership
    assert membership.pk not in result_ids(admin, URL)
    assert_problem(admin.get(f"{URL}{membership.pk}/"), 404)
    assert_problem(admin.patch(f"{URL}{membership.pk}/", {"role": "viewer"}), 404)
    assert_problem(admin.delete(f"{URL}{membership.pk}/"), 404)


def test_members_can_be_ordered_by_id_and_created_at(firm, admin):
    ids = [user.membership.pk for user in (firm.admin, firm.manager, firm.other_manager, firm.viewer)]
    assert result_ids(admin, f"{URL}?ordering=id") == sorted(ids)
    assert result_ids(admin, f"{URL}?ordering=-id") == sorted(ids, reverse=True)
    assert sorted(result_ids(admin, f"{URL}?ordering=-created_at")) == sorted(ids)


def test_members_cannot_be_ordered_by_email(firm, admin):
    assert_problem(admin.get(f"{URL}?ordering=email"), 400, field="ordering")


def test_expand_on_members_is_400_as_they_have_nothing_to_expand(firm, admin):
    assert_problem(admin.get(f"{URL}?expand=user"), 400, field="expand")
    assert_problem(admin.get(f"{URL}{firm.manager.membership.pk}/?expand=user"), 400, field="expand")


def test_search_on_members_is_400_as_they_are_not_searchable(firm, admin):
    assert_problem(admin.get(f"{URL}?search={firm.manager.email}"), 400, field="search")
