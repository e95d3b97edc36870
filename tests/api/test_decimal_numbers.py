"""Decimal fields take a JSON number as well as a string, read exactly from the body's digits (never
through a float), and are returned as strings; NaN and Infinity are a 400 naming the field."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from crm.api.parsers import StrictJSONParser
from opportunities.models import Opportunity, OpportunityProduct
from products.models import Product
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm


def parsed(text: str) -> Any:
    return StrictJSONParser().parse(io.BytesIO(text.encode()), "application/json", {})


def post_raw(client: APIClient, url: str, body: str) -> Any:
    return client.generic("POST", url, body.encode(), content_type="application/json")


# Each writable decimal field of the API: its list URL, a body around it ("{}" where the value goes), the
# model and column it is stored in.
def _product(firm: Firm) -> str:
    return f'{{"principal": {firm.principal_a.pk}, "name": "Fries", "sku": "FRY38", "list_price": {{}}}}'


def _opportunity(firm: Firm) -> str:
    return (
        f'{{"name": "Fries at Acme", "principal": {firm.principal_a.pk}, "customer": {firm.customer.pk}, '
        '"weekly_case_volume": {}}'
    )


def _opportunity_product(firm: Firm) -> str:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    return f'{{"opportunity": {opportunity.pk}, "product": {product.pk}, "weekly_case_volume": {{}}}}'


FIELDS: dict[str, tuple[str, Callable[[Firm], str], type[models.Model], str]] = {
    "product list_price": ("products", _product, Product, "list_price"),
    "opportunity weekly_case_volume": ("opportunities", _opportunity, Opportunity, "weekly_case_volume"),
    "opportunity product weekly_case_volume": (
        "opportunity-products",
        _opportunity_product,
        OpportunityProduct,
        "weekly_case_volume",
    ),
}


@pytest.fixture(params=list(FIELDS.values()), ids=list(FIELDS))
def decimal_field(request: Any, firm: Firm) -> tuple[str, str, type[models.Model], str]:
    resource, body, model, name = request.param
    return f"{API}/{resource}/", body(firm).replace("{}", "%s"), model, name


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        ("0.1", "0.10"),  # through a float: 0.1000000000000000055…, more places than the field keeps
        ("1234567890.12", "1234567890.12"),  # through a float: 1234567890.1199998…
        ("12", "12.00"),
        ("12.5", "12.50"),
        ("0", "0.00"),
        ("1e2", "100.00"),
        ("1.5E-1", "0.15"),
        ('"0.1"', "0.10"),  # a string as before
        ('"1234567890.12"', "1234567890.12"),
    ],
)
def test_a_decimal_is_taken_as_a_json_number_or_a_string_exactly_and_returned_as_a_string(
    manager: APIClient, decimal_field: Any, sent: str, returned: str
) -> None:
    url, body, model, name = decimal_field
    created = ok(post_raw(manager, url, body % sent), 201)
    assert created[name] == returned
    stored = model._default_manager.values_list(name, flat=True).get(pk=created["id"])
    assert stored == Decimal(returned)
    assert ok(manager.get(f"{url}{created['id']}/"))[name] == returned


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ("0.001", "max_decimal_places"),
        ("1e-3", "max_decimal_places"),
        ("12345678901", "max_whole_digits"),
        ("1e10", "max_whole_digits"),
        ("-1", "min_value"),
        ("-0.5", "min_value"),
        ("true", "invalid"),
        ("[1]", "invalid"),
        ('"twelve"', "invalid"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("-Infinity", "invalid"),
    ],
)
def test_a_bad_decimal_is_a_400_naming_the_field(
    manager: APIClient, decimal_field: Any, sent: str, code: str
) -> None:
    url, body, model, name = decimal_field
    before = model._default_manager.count()
    assert_problem(post_raw(manager, url, body % sent), 400, field=name, code=code)
    assert model._default_manager.count() == before


def test_a_decimal_changed_with_a_json_number(firm: Firm, manager: APIClient) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    url = f"{API}/products/{product.pk}/"
    changed = manager.generic("PATCH", url, b'{"list_price": 19.99}', content_type="application/json")
    assert ok(changed)["list_price"] == "19.99"
    product.refresh_from_db()
    assert product.list_price == Decimal("19.99")


def test_an_integer_field_still_refuses_a_number_with_a_fraction(firm: Firm, manager: APIClient) -> None:
    body = (
        f'{{"name": "Fries", "principal": {firm.principal_a.pk}, "customer": {firm.customer.pk}, '
        '"probability": 5.0}'
    )
    assert_problem(post_raw(manager, f"{API}/opportunities/", body), 400, field="probability", code="invalid")


def test_nan_anywhere_in_a_body_is_a_400_naming_where(manager: APIClient) -> None:
    body = '{"name": "X", "type": "customer", "nested": {"deep": [1, -Infinity]}}'
    response = post_raw(manager, f"{API}/organizations/", body)
    assert_problem(response, 400, field="nested.deep.1", code="invalid")
    assert_problem(post_raw(manager, f"{API}/organizations/", "NaN"), 400)


# --- the parser and the schema --------------------------------------------------------------------------


def test_the_parser_reads_fractions_as_decimals_and_whole_numbers_as_ints() -> None:
    data = parsed('{"a": 0.1, "b": 12, "c": 1e2, "d": -0.0, "e": [2.50]}')
    assert data == {
        "a": Decimal("0.1"),
        "b": 12,
        "c": Decimal("1E+2"),
        "d": Decimal("-0.0"),
        "e": [Decimal("2.50")],
    }
    assert type(data["b"]) is int
    assert str(data["e"][0]) == "2.50"  # the digits as sent


def test_a_float_field_takes_what_the_parser_gives() -> None:
    class Reading(serializers.Serializer):
        latitude = serializers.FloatField()

    reading = Reading(data=parsed('{"latitude": 45.5}'))
    assert reading.is_valid(), reading.errors
    assert reading.validated_data["latitude"] == 45.5 and type(reading.validated_data["latitude"]) is float


def test_the_schema_takes_a_number_or_a_string_and_returns_a_string(db: Any) -> None:
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for component, name in [
        ("Product", "list_price"),
        ("Opportunity", "weekly_case_volume"),
        ("OpportunityProduct", "weekly_case_volume"),
    ]:
        response = schemas[component]["properties"][name]
        assert response["type"] == "string" and response["format"] == "decimal"
        request = schemas[f"{component}Request"]["properties"][name]
        text, number = request["oneOf"]
        assert text["type"] == "string" and text["format"] == "decimal"
        assert number == {"type": "number", "minimum": 0.0, "maximum": 9999999999.99}
        patch = schemas[f"Patched{component}Request"]["properties"][name]
        assert patch["oneOf"] == request["oneOf"]
