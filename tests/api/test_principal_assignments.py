"""/principal-assignments/: books. Admins add and remove principals; others read their own book only."""

from __future__ import annotations

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/principal-assignments/"


def test_admin_adds_a_principal_to_a_book_and_it_takes_effect_at_once(firm, admin, manager):
    body = ok(admin.post(URL, {"user": firm.manager.pk, "principal": firm.principal_b.pk}), 201)
    assert body["user"] == firm.manager.pk and body["principal"] == firm.principal_b.pk
    assert body["created_by"] == firm.admin.pk
    me = ok(manager.get(f"{API}/me/"))
    assert [p["id"] for p in me["book"]] == [firm.principal_a.pk, firm.principal_b.pk]
    assert firm.principal_b.pk in result_ids(manager, f"{API}/organizations/?type=principal")


def test_admin_removes_a_principal_from_a_book(firm, admin, manager):
    assignment = firm.manager.book.get(principal=firm.principal_a)
    assert admin.delete(f"{URL}{assignment.pk}/").status_code == 204
    assert_problem(admin.get(f"{URL}{assignment.pk}/"), 404)
    assert ok(manager.get(f"{API}/me/"))["book"] == []
    assert_problem(manager.get(f"{API}/organizations/{firm.principal_a.pk}/"), 404)


def test_admin_lists_filters_and_expands_assignments(firm, admin):
    rows = ok(admin.get(f"{URL}?user={firm.other_manager.pk}&expand=user,principal"))["results"]
    assert len(rows) == 1
    assert rows[0]["user"]["email"] == firm.other_manager.email
    assert rows[0]["principal"] == {
        "id": firm.principal_b.pk,
        "name": firm.principal_b.name,
        "type": "principal",
    }
    rows = ok(admin.get(f"{URL}?principal={firm.principal_a.pk}"))["results"]
    assert {r["user"] for r in rows} == {firm.manager.pk, firm.viewer.pk}


def test_manager_reads_only_their_own_assignments(firm, manager):
    rows = ok(manager.get(URL))["results"]
    assert [(r["user"], r["principal"]) for r in rows] == [(firm.manager.pk, firm.principal_a.pk)]
    other = firm.other_manager.book.get()
    assert_problem(manager.get(f"{URL}{other.pk}/"), 404)


def test_viewer_reads_only_their_own_assignments(firm, viewer):
    rows = ok(viewer.get(URL))["results"]
    assert [r["user"] for r in rows] == [firm.viewer.pk]


def test_manager_cannot_add_to_their_own_book(firm, manager):
    response = manager.post(URL, {"user": firm.manager.pk, "principal": firm.principal_b.pk})
    assert_problem(response, 403)
    assert [p["id"] for p in ok(manager.get(f"{API}/me/"))["book"]] == [firm.principal_a.pk]


def test_manager_cannot_remove_their_own_assignment(firm, manager):
    own = firm.manager.book.get()
    assert_problem(manager.delete(f"{URL}{own.pk}/"), 403)


def test_duplicate_assignment_is_400(firm, admin):
    response = admin.post(URL, {"user": firm.manager.pk, "principal": firm.principal_a.pk})
    assert_problem(response, 400, code="unique")


def test_assigning_a_non_principal_is_400_naming_principal(firm, admin):
    response = admin.post(URL, {"user": firm.manager.pk, "principal": firm.customer.pk})
    assert_problem(response, 400, field="principal")


def test_assigning_a_user_of_another_firm_is_400_does_not_exist(firm, other_firm, admin):
    response = admin.post(URL, {"user": other_firm.manager.pk, "principal": firm.principal_a.pk})
    assert_problem(response, 400, field="user", code="does_not_exist")


def test_assigning_a_principal_of_another_firm_is_400_does_not_exist(firm, other_firm, admin):
    response = admin.post(URL, {"user": firm.manager.pk, "principal": other_firm.principal_a.pk})
    assert_problem(response, 400, field="principal", code="does_not_exist")


def test_assignment_to_a_deleted_principal_is_400(firm, admin):
    gone = f.PrincipalFactory(tenant=firm.tenant)
    admin.delete(f"{API}/organizations/{gone.pk}/")
    response = admin.post(URL, {"user": firm.manager.pk, "principal": gone.pk})
    assert_problem(response, 400, field="principal", code="does_not_exist")
