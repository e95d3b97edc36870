"""Principal scorecard: one principal on one page.

Principal A: four live products (two active, one discontinued, one seasonal; a fifth is soft-deleted);
open pipeline A1 and A2 (new_lead) and A3 (demo_scheduled); interactions in the last four weeks: this
Monday's two calls and an email and last week's meeting; in the four weeks before, the site visit.
"""

from __future__ import annotations

import datetime as dt

from tests.reports.support import World


def stage(name: str, count: int, volume: str, weighted: str) -> dict:
    return {
        "stage": name,
        "opportunities": count,
        "weekly_case_volume": volume,
        "weighted_weekly_volume": weighted,
    }


def test_manager_scorecard_of_a_principal_in_their_book(world: World) -> None:
    a = world.firm.principal_a
    body = world.get("manager", "principal-scorecard", principal=a.pk)
    assert (body["principal"], body["principal_name"], body["as_of"]) == (
        a.pk,
        a.name,
        world.today.isoformat(),
    )
    assert body["products"] == [
        {"status": "active", "products": 2},
        {"status": "discontinued", "products": 1},
        {"status": "seasonal", "products": 1},
        {"status": "coming_soon", "products": 0},
    ]
    assert body["products_total"] == 4
    assert body["pipeline"] == [
        stage("new_lead", 2, "30.00", "10.00"),
        stage("initial_outreach", 0, "0.00", "0.00"),
        stage("sample_visit_offered", 0, "0.00", "0.00"),
        stage("feedback_logged", 0, "0.00", "0.00"),
        stage("demo_scheduled", 1, "8.00", "6.00"),
    ]
    assert (body["open_opportunities"], body["weekly_case_volume"], body["weighted_weekly_volume"]) == (
        3,
        "38.00",
        "16.00",
    )
    day = dt.timedelta(days=1)
    assert body["activity"] == {
        "period": {"date_from": (world.today - 27 * day).isoformat(), "date_to": world.today.isoformat()},
        "previous_period": {
            "date_from": (world.today - 55 * day).isoformat(),
            "date_to": (world.today - 28 * day).isoformat(),
        },
        "interactions": 4,
        "previous_interactions": 1,
        "change": 3,
        "change_percent": "300.0",
        "by_type": [
            {"type": "call", "interactions": 2, "previous_interactions": 0, "change": 2},
            {"type": "email", "interactions": 1, "previous_interactions": 0, "change": 1},
            {"type": "meeting", "interactions": 1, "previous_interactions": 0, "change": 1},
            {"type": "site_visit", "interactions": 0, "previous_interactions": 1, "change": -1},
        ],
    }
    assert body["top_customers"] == [
        {
            "customer": world.bistro.pk,
            "customer_name": "Acme Bistro",
            "won_opportunities": 4,
            "won_weekly_case_volume": "62.00",
            "open_opportunities": 1,
            "open_weighted_weekly_volume": "5.00",
            "interactions": 4,
        },
        {
            "customer": world.grill.pk,
            "customer_name": "Acme Grill",
            "won_opportunities": 0,
            "won_weekly_case_volume": "0.00",
            "open_opportunities": 1,
            "open_weighted_weekly_volume": "6.00",
            "interactions": 0,
        },
        {
            "customer": world.diner.pk,
            "customer_name": "Acme Diner",
            "won_opportunities": 0,
            "won_weekly_case_volume": "0.00",
            "open_opportunities": 1,
            "open_weighted_weekly_volume": "5.00",
            "interactions": 0,
        },
    ]


def test_scorecard_by_owner_and_period(world: World) -> None:
    a = world.firm.principal_a
    mine = world.get("manager", "principal-scorecard", principal=a.pk, owner=world.firm.manager.pk)
    assert (mine["open_opportunities"], mine["weighted_weekly_volume"]) == (2, "10.00")
    assert (mine["activity"]["interactions"], mine["activity"]["previous_interactions"]) == (3, 1)
    assert [c["customer_name"] for c in mine["top_customers"]] == ["Acme Bistro", "Acme Diner"]
    week = world.get("manager", "principal-scorecard", principal=a.pk, date_from=world.monday.isoformat())
    assert week["activity"]["interactions"] == 3


def test_scorecard_never_counts_another_book_or_firm(world: World) -> None:
    for principal in (world.firm.principal_b.pk, world.rival.principal_a.pk):
        response = world.client("manager").get(
            "/api/v1/reports/principal-scorecard/", {"principal": principal}
        )
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "principal"
    admin_a = world.get("admin", "principal-scorecard", principal=world.firm.principal_a.pk)
    assert admin_a["products_total"] == 4 and admin_a["open_opportunities"] == 3
    admin_b = world.get("admin", "principal-scorecard", principal=world.firm.principal_b.pk)
    assert (admin_b["products_total"], admin_b["open_opportunities"], admin_b["weighted_weekly_volume"]) == (
        1,
        2,
        "10.70",
    )
    assert [c["customer_name"] for c in admin_b["top_customers"]] == [
        "Acme Bistro",
        "Acme Cafe",
        "Acme Diner",
    ]
    viewer = world.get("viewer", "principal-scorecard", principal=world.firm.principal_a.pk)
    assert viewer["activity"]["interactions"] == 4
