"""Query parameters: validated like every list's (problem details naming the parameter), unknown ones a
400, and the reports closed to anyone who is not a member of a firm."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import client_for
from tests.reports.support import REPORTS, World

PROBLEM = "application/problem+json"


def problem(world: World, report: str, role: str = "manager", **params: object) -> dict:
    response = world.client(role).get(f"{REPORTS}/{report}/", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def fields(body: dict) -> list[str]:
    return [error["field"] for error in body["errors"]]


@pytest.mark.parametrize(
    ("report", "params", "field"),
    [
        ("pipeline", {"stage": "new_lead"}, "stage"),
        ("pipeline", {"principal": "abc"}, "principal"),
        ("pipeline", {"principal": "0"}, "principal"),
        ("pipeline", {"owner": str(2**63)}, "owner"),
        ("pipeline", {"date_from": "2026-13-01"}, "date_from"),
        ("pipeline", {"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_from"),
        ("pipeline", {"date_to": "9999-12-31"}, "date_to"),
        ("weekly-activity", {"weeks": "0"}, "weeks"),
        ("weekly-activity", {"weeks": "105"}, "weeks"),
        ("weekly-activity", {"weeks": "4", "date_from": "2026-01-05"}, "weeks"),
        ("weekly-activity", {"date_from": "2020-01-01", "date_to": "2026-01-01"}, "date_from"),
        ("weekly-activity", {"date_from": "2999-01-01"}, "date_from"),
        ("follow-ups", {"days": "3"}, "days"),
        ("stale-accounts", {"days": "0"}, "days"),
        ("stale-accounts", {"limit": "0"}, "limit"),
        ("follow-ups", {"limit": "5001"}, "limit"),
        ("pipeline", {"limit": "10"}, "limit"),
        ("stale-accounts", {"days": "abc"}, "days"),
        ("stale-opportunities", {"days": "7", "date_from": "2026-01-01"}, "days"),
        ("win-loss", {"weeks": "2"}, "weeks"),
        ("distributor-coverage", {}, "principal"),
        ("principal-scorecard", {}, "principal"),
        ("principal-scorecard", {"principal": "1", "page_size": "5"}, "page_size"),
        ("pipeline", {"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(world: World, report: str, params: dict, field: str) -> None:
    assert field in fields(problem(world, report, **params))


@pytest.mark.parametrize(
    ("report", "query", "field"),
    [
        ("pipeline", "format=json&format=csv", "format"),
        ("stale-accounts", "limit=5&limit=50", "limit"),
        ("weekly-activity", "weeks=4&weeks=8", "weeks"),
    ],
)
def test_a_parameter_given_twice_is_a_400_naming_it(
    world: World, report: str, query: str, field: str
) -> None:
    response = world.client("manager").get(f"{REPORTS}/{report}/?{query}")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM, response.content
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, "repeated")]


def test_every_unknown_parameter_is_named(world: World) -> None:
    body = problem(world, "pipeline", principle="1", ownr="2")
    assert sorted(fields(body)) == ["ownr", "principle"]
    assert {e["detail"] for e in body["errors"]} == {"Unknown query parameter."}


@pytest.mark.parametrize("report", ["pipeline", "follow-ups", "principal-scorecard"])
def test_reports_need_a_member_of_a_firm(world: World, report: str) -> None:
    anonymous = client_for(None).get(f"{REPORTS}/{report}/")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == PROBLEM


def test_viewers_read_the_reports_of_their_book(world: World) -> None:
    assert world.client("viewer").get(f"{REPORTS}/follow-ups/").status_code == 200
    coverage = world.client("viewer").get(
        f"{REPORTS}/distributor-coverage/", {"principal": world.firm.principal_a.pk}
    )
    assert coverage.status_code == 200


def test_reports_are_read_only(world: World) -> None:
    response = world.client("admin").post(f"{REPORTS}/pipeline/", {}, format="json")
    assert response.status_code == 405


def test_a_browser_gets_the_browsable_api(world: World) -> None:
    client = Client()
    client.force_login(world.firm.manager)
    response = client.get(f"{REPORTS}/pipeline/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "Acme Principal A" in response.content.decode()
