"""Products and distributor item codes: the database refuses bad raw SQL writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, UNIQUE, insert, refused, update, value

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("wrong", ["customer", "distributor"])
def test_product_principal_must_be_a_principal(firm: Firm, wrong: str) -> None:
    refused(
        lambda: insert(firm.admin, "product", principal_id=getattr(firm, wrong).pk, sku="FRY-1"),
        CHECK,
        column="principal_id",
        message="must be a principal",
    )


def test_product_list_price_cannot_be_negative(firm: Firm) -> None:
    refused(
        lambda: insert(
            firm.admin, "product", principal_id=firm.principal_a.pk, sku="FRY-1", list_price=-0.01
        ),
        CHECK,
        constraint="product_list_price_not_negative",
    )
    insert(firm.admin, "product", principal_id=firm.principal_a.pk, sku="FRY-2", list_price=Decimal("0"))


@pytest.mark.parametrize(
    ("column", "bad", "constraint"),
    [
        ("category", "gadgets", "product_category_valid"),
        ("status", "vaporware", "product_status_valid"),
        ("name", "", "product_name_not_blank"),
        ("sku", "", "product_sku_not_blank"),
    ],
)
def test_product_refuses_values_outside_its_choices(
    firm: Firm, column: str, bad: str, constraint: str
) -> None:
    values = {"principal_id": firm.principal_a.pk, "sku": "FRY-1", column: bad}
    refused(lambda: insert(firm.admin, "product", **values), CHECK, constraint=constraint)


def test_product_sku_is_unique_per_principal_case_insensitively(firm: Firm) -> None:
    insert(firm.admin, "product", principal_id=firm.principal_a.pk, sku="fry-1")
    refused(
        lambda: insert(firm.admin, "product", principal_id=firm.principal_a.pk, sku="FRY-1"),
        UNIQUE,
        constraint="product_sku_key_unique_per_principal_in_firm",
    )


def test_product_sku_may_repeat_under_another_principal_or_after_a_soft_delete(firm: Firm) -> None:
    first = insert(firm.admin, "product", principal_id=firm.principal_a.pk, sku="FRY-1")
    insert(firm.admin, "product", principal_id=firm.principal_b.pk, sku="FRY-1")
    update(firm.admin, "product", first, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    insert(firm.admin, "product", principal_id=firm.principal_a.pk, sku="FRY-1")


def test_product_principal_cannot_change(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    refused(
        lambda: update(firm.admin, "product", product.pk, principal_id=firm.principal_b.pk),
        CHECK,
        column="principal_id",
        message="cannot change",
    )


def test_product_distributor_must_be_a_distributor(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    refused(
        lambda: insert(
            firm.admin, "product_distributor", product_id=product.pk, distributor_id=firm.customer.pk
        ),
        CHECK,
        column="distributor_id",
        message="must be a distributor",
    )


def test_product_distributor_item_code_is_unique_per_product_and_distributor(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    link = {"product_id": product.pk, "distributor_id": firm.distributor.pk}
    insert(firm.admin, "product_distributor", **link)
    refused(
        lambda: insert(firm.admin, "product_distributor", **link),
        UNIQUE,
        constraint="product_distributor_unique_in_firm",
    )


def test_product_distributor_scope_key_is_the_products_principal(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    item = insert(
        firm.admin,
        "product_distributor",
        product_id=product.pk,
        distributor_id=firm.distributor.pk,
        scope_principal_id=firm.principal_b.pk,
    )
    assert value("product_distributor", item, "scope_principal_id") == firm.principal_a.pk


@pytest.mark.parametrize("as_owner", [False, True], ids=["runtime_role", "owner"])
@pytest.mark.parametrize(
    "column", ["product.principal_id", "product_distributor.product_id", "product_distributor.distributor_id"]
)
def test_product_tables_refuse_a_reference_to_another_tenants_row(
    firm: Firm, other_firm: Firm, column: str, as_owner: bool
) -> None:
    table, field = column.split(".")
    own_product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    foreign_product = f.ProductFactory(tenant=other_firm.tenant, principal=other_firm.principal_a)
    cases: dict[str, dict[str, object]] = {
        "product.principal_id": {"principal_id": other_firm.principal_a.pk, "sku": "FRY-9"},
        "product_distributor.product_id": {
            "product_id": foreign_product.pk,
            "distributor_id": firm.distributor.pk,
        },
        "product_distributor.distributor_id": {
            "product_id": own_product.pk,
            "distributor_id": other_firm.distributor.pk,
        },
    }
    values = cases[column]
    if as_owner:
        values["tenant_id"] = firm.tenant.pk
    refused(
        lambda: insert(None if as_owner else firm.admin, table, **values),
        FOREIGN_KEY,
        column=field,
        message="does not exist",
    )
