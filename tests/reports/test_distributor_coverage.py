"""Distributor coverage of one principal: authorized distributors, their customers, open opportunities.

Principal A is carried by Acme Distribution (since 2025, no end; it delivers to the Bistro as primary and
to the Diner; its delivery to the Grill is soft-deleted) and was by Acme Foodservice until 10 days ago
(the Grill, primary). Acme Wholesale carries principal B (the Cafe). A's open opportunities: A3 through
Acme Distribution (8 cases at 75%), A1 and A2 without a distributor.
"""

from __future__ import annotations

import datetime as dt

from tests.reports.support import World


def test_manager_coverage_of_a_principal_in_their_book(world: World) -> None:
    a = world.firm.principal_a
    body = world.get("manager", "distributor-coverage", principal=a.pk)
    assert (body["principal"], body["principal_name"]) == (a.pk, a.name)
    assert body["period"] == {"date_from": world.today.isoformat(), "date_to": world.today.isoformat()}
    assert body["distributors"] == [
        {
            "distributor": world.firm.distributor.pk,
            "distributor_name": "Acme Distribution",
            "authorized_on": "2025-01-01",
            "expires_on": None,
            "customers_served": 2,
            "primary_customers": 1,
            "open_opportunities": 1,
            "open_weekly_case_volume": "8.00",
            "open_weighted_weekly_volume": "6.00",
        }
    ]
    assert (body["customers_reached"], body["open_opportunities"]) == (2, 3)
    assert body["open_opportunities_without_authorized_distributor"] == 2


def test_coverage_during_a_period_includes_authorizations_that_ended_in_it(world: World) -> None:
    since = world.today - dt.timedelta(days=20)
    body = world.get(
        "manager", "distributor-coverage", principal=world.firm.principal_a.pk, date_from=since.isoformat()
    )
    assert [(d["distributor_name"], d["customers_served"], d["primary_customers"], d["open_opportunities"])
            for d in body["distributors"]] == [("Acme Distribution", 2, 1, 1), ("Acme Foodservice", 1, 1, 0)]  # fmt: skip
    assert body["distributors"][1]["expires_on"] == (world.today - dt.timedelta(days=10)).isoformat()
    assert body["customers_reached"] == 3


def test_coverage_by_owner(world: World) -> None:
    body = world.get(
        "manager", "distributor-coverage", principal=world.firm.principal_a.pk, owner=world.firm.manager.pk
    )
    assert body["distributors"][0]["open_opportunities"] == 0  # A3 is the admin's
    assert (body["open_opportunities"], body["open_opportunities_without_authorized_distributor"]) == (2, 2)


def test_coverage_of_a_principal_outside_the_book_or_firm_is_refused_like_a_missing_one(world: World) -> None:
    for principal in (world.firm.principal_b.pk, world.rival.principal_a.pk, 10**12):
        response = world.client("manager").get(
            "/api/v1/reports/distributor-coverage/", {"principal": principal}
        )
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == [
            {
                "field": "principal",
                "code": "does_not_exist",
                "detail": f'Invalid pk "{principal}" - object does not exist.',
            }
        ]
    admin = world.get("admin", "distributor-coverage", principal=world.firm.principal_b.pk)
    assert [(d["distributor_name"], d["customers_served"]) for d in admin["distributors"]] == [
        ("Acme Wholesale", 1)
    ]
    assert (admin["open_opportunities"], admin["open_opportunities_without_authorized_distributor"]) == (2, 2)
