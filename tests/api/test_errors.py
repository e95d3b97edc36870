"""Bad requests on every endpoint get RFC 9457 problem details: bad bodies, bad query strings, unknown ids."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError

from crm import rls
from crm.api.problems import problem_details_handler
from organizations.models import Organization, OrganizationType
from tests.api.support import API, BUSINESS_RESOURCES, RESOURCES, assert_problem, ok

SEARCHABLE = {"organizations", "contacts", "products", "opportunities", "interactions"}


def test_malformed_json_is_400_problem(manager):
    response = manager.post(f"{API}/organizations/", '{"name": "Corner', content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_malformed_json_on_patch_is_400_problem(firm, manager):
    response = manager.patch(
        f"{API}/organizations/{firm.customer.pk}/", "{name:", content_type="application/json"
    )
    assert_problem(response, 400)


def test_body_that_is_not_an_object_is_400_problem(manager):
    body = assert_problem(manager.post(f"{API}/organizations/", [1, 2, 3]), 400)
    assert body["errors"][0]["field"] is None


def test_form_encoded_body_is_415_problem(manager):
    response = manager.post(
        f"{API}/organizations/", "name=x&type=customer", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("organizations", {"name": ["Corner Deli"], "type": "customer"}, "name"),
        ("organizations", {"name": "Corner Deli", "type": "customer", "parent": "chain"}, "parent"),
        ("opportunities", {"name": "x", "probability": "likely"}, "probability"),
        ("opportunities", {"name": "x", "weekly_case_volume": "lots"}, "weekly_case_volume"),
        ("opportunities", {"name": "x", "expected_close_date": "next week"}, "expected_close_date"),
        ("products", {"name": "x", "sku": "x", "list_price": {"amount": 1}}, "list_price"),
        ("interactions", {"subject": "x", "type": "call", "occurred_at": 12}, "occurred_at"),
        ("interactions", {"subject": "x", "type": "call", "follow_up_done": "sometimes"}, "follow_up_done"),
        ("contacts", {"first_name": "x", "is_primary": "perhaps"}, "is_primary"),
    ],
)
def test_wrong_types_are_400_naming_the_field(manager, path, payload, field):
    assert_problem(manager.post(f"{API}/{path}/", payload), 400, field=field)


def test_every_error_of_a_body_is_listed(manager):
    body = assert_problem(manager.post(f"{API}/organizations/", {"type": "planet", "priority": "Z"}), 400)
    assert {e["field"] for e in body["errors"]} == {"name", "type", "priority"}
    assert all(e["code"] and e["detail"] for e in body["errors"])


@pytest.mark.parametrize("size", ["500", "201", "0", "-1", "ten"])
def test_page_size_out_of_range_or_not_a_number_is_400(manager, size):
    assert_problem(manager.get(f"{API}/organizations/?page_size={size}"), 400, field="page_size")


def test_page_size_at_the_maximum_is_accepted(manager):
    ok(manager.get(f"{API}/organizations/?page_size=200"))


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_unknown_filter_parameter_is_400_on_every_list(admin, resource):
    assert_problem(admin.get(f"{resource.url}?colour=red"), 400, field="colour")


@pytest.mark.parametrize("resource", BUSINESS_RESOURCES, ids=str)
def test_unknown_ordering_field_is_400_on_every_list(admin, resource):
    body = assert_problem(admin.get(f"{resource.url}?ordering=-colour"), 400, field="ordering")
    assert "colour" in body["errors"][0]["detail"]


@pytest.mark.parametrize("resource", BUSINESS_RESOURCES, ids=str)
def test_unknown_expand_is_400_on_every_list(admin, resource):
    body = assert_problem(admin.get(f"{resource.url}?expand=tenant"), 400, field="expand")
    assert "tenant" in body["errors"][0]["detail"]


@pytest.mark.parametrize("resource", BUSINESS_RESOURCES, ids=str)
def test_unknown_expand_is_400_on_detail_too(firm, admin, resource):
    row_id = resource.make(firm, 1)[0]
    assert_problem(admin.get(f"{resource.url}{row_id}/?expand=nothing"), 400, field="expand")


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.name not in SEARCHABLE], ids=str)
def test_search_on_a_list_that_is_not_searchable_is_400_not_ignored(admin, resource):
    assert_problem(admin.get(f"{resource.url}?search=zzz"), 400, field="search")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("opportunities", "is_open"),
        ("contacts", "is_primary"),
        ("customer-distributors", "is_primary"),
        ("interactions", "follow_up_done"),
    ],
)
@pytest.mark.parametrize("value", ["maybe", "yes", "2", "unknown"])
def test_boolean_filter_with_a_value_other_than_true_false_1_0_is_400(manager, path, name, value):
    assert_problem(manager.get(f"{API}/{path}/?{name}={value}"), 400, field=name)


def test_ordering_by_a_column_that_exists_but_is_not_offered_is_400(manager):
    assert_problem(manager.get(f"{API}/organizations/?ordering=notes"), 400, field="ordering")


def test_invalid_choice_in_a_filter_is_400(manager):
    assert_problem(manager.get(f"{API}/opportunities/?stage=won"), 400, field="stage")


def test_id_filter_that_is_not_a_number_is_400(manager):
    assert_problem(manager.get(f"{API}/opportunities/?principal=acme"), 400, field="principal")


def test_garbage_cursor_is_a_problem(manager):
    response = manager.get(f"{API}/organizations/?cursor=not-a-cursor")
    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_unknown_id_is_404_problem_on_every_detail(admin, resource):
    body = assert_problem(admin.get(f"{resource.url}987654321/"), 404)
    assert body["title"] == "Not Found"


@pytest.mark.parametrize("resource", BUSINESS_RESOURCES, ids=str)
def test_patch_and_delete_of_an_unknown_id_are_404_problem(admin, resource):
    assert_problem(admin.patch(f"{resource.url}987654321/", {}), 404)
    assert_problem(admin.delete(f"{resource.url}987654321/"), 404)


def test_non_numeric_id_is_404_problem(manager):
    assert_problem(manager.get(f"{API}/organizations/acme/"), 404)


def test_change_stage_of_an_unknown_opportunity_is_404_problem(manager):
    assert_problem(
        manager.post(f"{API}/opportunities/987654321/change-stage/", {"stage": "closed_lost"}), 404
    )


def test_method_not_allowed_is_405_problem(manager):
    response = manager.post(f"{API}/me/", {})
    assert_problem(response, 405)
    assert "GET" in response["Allow"]


def test_method_not_allowed_on_a_list_is_405_problem(manager):
    response = manager.delete(f"{API}/organizations/")
    assert_problem(response, 405)
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/nonexistent/", "/api/v2/organizations/", "/api/"])
def test_unknown_route_under_api_is_404_problem(manager, path):
    body = assert_problem(manager.get(path), 404)
    assert body["title"] == "Not Found"


def test_unknown_route_outside_api_is_djangos_html_404(manager):
    response = manager.get("/nonexistent/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_django_validation_error_reaching_the_handler_is_400_problem_naming_its_fields():
    error = DjangoValidationError({"password": ["This password is too short."], "email": ["Taken."]})
    response = problem_details_handler(error, {})
    assert response is not None and response.status_code == 400
    assert {(e["field"], e["detail"]) for e in response.data["errors"]} == {
        ("password", "This password is too short."),
        ("email", "Taken."),
    }


def test_django_validation_error_without_fields_is_400_problem_with_its_message():
    response = problem_details_handler(DjangoValidationError("Not allowed."), {})
    assert response is not None and response.status_code == 400
    assert response.data["detail"] == "Not allowed."


def test_write_refused_by_a_row_level_security_policy_is_403_problem_not_500(firm):
    # A principal's scope key is its own id, outside a manager's book: the insert policy refuses it.
    with pytest.raises(DatabaseError) as refused, rls.acting_as(firm.manager.pk):
        Organization.objects.create(tenant=firm.tenant, name="Sneaky", type=OrganizationType.PRINCIPAL)
    response = problem_details_handler(refused.value, {})  # last: it marks the transaction for rollback
    assert response is not None and response.status_code == 403
    assert response.data["detail"] == "You may not write this record."
