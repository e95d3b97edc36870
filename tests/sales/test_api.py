"""The sales API over HTTP: a sales file uploaded to /imports/ (kind=sales), facts listed with filters and
cursor pages, aliases and mappings written by writers and read by every role; problems, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports import services
from sales.models import SalesFact
from tests import factories as f
from tests.conftest import Firm
from tests.sales.support import build, run_sales, sales_file

pytestmark = pytest.mark.django_db

FACTS = "/api/v1/sales/facts/"


def upload(client: Any, content: bytes, **fields: Any) -> Any:
    data = {"kind": "sales", **fields, "file": SimpleUploadedFile("sysco.csv", content)}
    return client.post("/api/v1/imports/", data, format="multipart")


def test_a_sales_file_uploaded_with_its_distributor_becomes_facts(firm: Firm, api: Any) -> None:
    world = build(firm)
    client = api(firm.manager)
    response = upload(
        client,
        sales_file(["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", "12.50"]),
        distributor=firm.distributor.pk,
    )
    assert response.status_code == 202, response.json()
    assert response.json()["options"]["distributor"] == firm.distributor.pk
    services.import_run(import_id=response.json()["id"], user_id=firm.manager.pk)
    detail = client.get(response["Location"]).json()
    assert detail["state"] == "succeeded" and detail["summary"]["create"] == 1
    body = client.get(FACTS).json()
    assert [
        (r["product"], r["customer"], r["cases"], r["dollars"], r["currency"]) for r in body["results"]
    ] == [(world.pizza.pk, world.diner.pk, "4.000", "12.50", "USD")]


def test_a_sales_upload_is_refused_without_a_visible_distributor_or_with_a_foreign_field(
    firm: Firm, other_firm: Firm, api: Any
) -> None:
    client = api(firm.manager)
    content = sales_file(["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""])
    for fields, name in (
        ({}, "distributor"),
        ({"distributor": other_firm.distributor.pk}, "distributor"),
        ({"distributor": firm.customer.pk}, "distributor"),
        ({"distributor": firm.distributor.pk, "mapping": '{"Cases": "quantity"}'}, "mapping"),
        ({"distributor": firm.distributor.pk, "period_kind": "day"}, "period_kind"),
    ):
        response = upload(client, content, **fields)
        assert response.status_code == 400, (fields, response.json())
        assert response["Content-Type"].startswith("application/problem+json")
        assert name in {error["field"] for error in response.json()["errors"]}, response.json()
    response = client.post(
        "/api/v1/imports/",
        {
            "kind": "organizations",
            "distributor": firm.distributor.pk,
            "file": SimpleUploadedFile("o.csv", b"Company\r\nA\r\n"),
        },
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "distributor"
    # A file without a column for the item or the ship-to: refused at upload, naming what is missing.
    response = upload(client, b"Week,Cases\r\n2026-03-02,4\r\n", distributor=firm.distributor.pk)
    assert response.status_code == 400
    assert "item_number or sku" in response.json()["errors"][0]["detail"]


def test_facts_are_filtered_paged_by_cursor_and_read_in_a_fixed_number_of_queries(
    firm: Firm, api: Any
) -> None:
    world = build(firm)
    rows = [
        [f"2026-{month:02d}-02", "1001", "", "", "", "Joe's Diner", str(month), ""] for month in range(1, 13)
    ]
    rows.append(["2026-03-02", "", "SV-1", "", "", "Joe's Diner", "1", ""])
    run_sales(firm.admin, firm.distributor, sales_file(*rows))
    client = api(firm.admin)
    page = client.get(FACTS, {"product": world.pizza.pk, "page_size": 5}).json()
    assert len(page["results"]) == 5 and page["next"]
    assert page["results"][0]["period_start"] > page["results"][-1]["period_start"]
    second = client.get(page["next"]).json()
    assert len(second["results"]) == 5
    # 2026-04-02 counts for the week of Monday 2026-03-30.
    march = {"period_from": "2026-03-01", "period_to": "2026-03-29"}
    selected = client.get(FACTS, march).json()["results"]
    assert sorted(r["product"] for r in selected) == sorted([world.pizza.pk, world.salsa.pk])
    assert client.get(FACTS, {"principal": firm.principal_b.pk}).json()["results"] == []
    response = client.get(FACTS, {"prodcut": 1})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "prodcut"
    assert client.get(FACTS, {"period_from": "March"}).status_code == 400

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(FACTS, {"page_size": size}).status_code == 200
        return len(captured)

    assert queries(2) == queries(13)


def test_facts_follow_the_products_principal_for_every_role(firm: Firm, other_firm: Firm, api: Any) -> None:
    world = build(firm)
    run_sales(
        firm.admin,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "", "Joe's Diner", "4", ""],
            ["2026-03-02", "2001", "", "", "", "Joe's Diner", "3", ""],
        ),
    )
    seen = {
        name: {r["product"] for r in api(user).get(FACTS).json()["results"]}
        for name, user in (
            ("admin", firm.admin),
            ("manager", firm.manager),
            ("other_manager", firm.other_manager),
            ("viewer", firm.viewer),
            ("rival admin", other_firm.admin),
        )
    }
    assert seen == {
        "admin": {world.pizza.pk, world.soda.pk},
        "manager": {world.pizza.pk},
        "other_manager": {world.soda.pk},
        "viewer": {world.pizza.pk},
        "rival admin": set(),
    }
    soda = SalesFact.objects.get(product=world.soda)
    assert api(firm.manager).get(f"{FACTS}{soda.pk}/").status_code == 404
    assert api(firm.admin).delete(f"{FACTS}{soda.pk}/").status_code == 405


def test_aliases_are_written_by_writers_and_read_by_every_role(firm: Firm, api: Any) -> None:
    world = build(firm)
    url = "/api/v1/sales/aliases/"
    body = {
        "distributor": firm.distributor.pk,
        "kind": "ship_to_number",
        "value": "0042",
        "customer": world.cafe.pk,
    }
    assert api(firm.viewer).post(url, body, format="json").status_code == 403
    created = api(firm.manager).post(url, body, format="json")
    assert created.status_code == 201, created.json()
    assert created["Location"].endswith(f"{url}{created.json()['id']}/")
    clash = api(firm.admin).post(url, {**body, "value": " 0042 "}, format="json")
    assert clash.status_code == 400, clash.json()
    wrong = api(firm.admin).post(url, {**body, "value": "7", "customer": firm.distributor.pk}, format="json")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "customer"
    assert [r["value"] for r in api(firm.viewer).get(url).json()["results"]] == ["0042"]
    alias = created.json()["id"]
    assert (
        api(firm.manager).patch(f"{url}{alias}/", {"customer": world.diner.pk}, format="json").status_code
        == 200
    )
    assert api(firm.manager).delete(f"{url}{alias}/").status_code == 204


def test_mappings_hold_a_header_to_field_object(firm: Firm, api: Any) -> None:
    url = "/api/v1/sales/mappings/"
    client = api(firm.manager)
    body = {
        "distributor": firm.distributor.pk,
        "mapping": {"Cajas": "cases", "Notas": None},
        "period_kind": "month",
    }
    created = client.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["updated_by"] == firm.manager.pk
    assert created["Location"] == f"http://testserver{url}{created.json()['id']}/"
    bad = client.post(
        url,
        {**body, "distributor": f.DistributorFactory(tenant=firm.tenant).pk, "mapping": {"A": "x"}},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("mapping")
    twice = client.post(url, body, format="json")
    assert twice.status_code == 400, twice.json()
    assert (
        client.get(url, {"distributor": firm.distributor.pk}).json()["results"][0]["mapping"]
        == body["mapping"]
    )
