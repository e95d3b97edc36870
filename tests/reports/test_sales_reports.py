"""The sell-through reports on a hand-made firm: velocity, points of distribution gained and lost, and open
opportunities for products the account buys or stopped buying; each role sees its book only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sales.models import SalesFact
from tests import factories as f
from tests.conftest import Firm

pytestmark = pytest.mark.django_db

# The period asked for: the 4 ISO weeks of 2026-03-02 … 2026-03-29; the previous: 2026-02-02 … 2026-03-01.
PARAMS = {"date_from": "2026-03-02", "date_to": "2026-03-29"}
NOW, BEFORE = dt.date(2026, 3, 9), dt.date(2026, 2, 9)


@pytest.fixture
def world(firm: Firm) -> dict[str, Any]:
    t = firm.tenant
    pizza = f.ProductFactory(tenant=t, principal=firm.principal_a, name="Pizza", sku="PZ")
    salsa = f.ProductFactory(tenant=t, principal=firm.principal_a, name="Salsa", sku="SV")
    cola = f.ProductFactory(tenant=t, principal=firm.principal_b, name="Cola", sku="CO")
    other = f.DistributorFactory(tenant=t, name="Zeta Foods")
    diner, cafe, bar = (f.CustomerFactory(tenant=t, name=n) for n in ("Diner", "Cafe", "Bar"))

    def sold(product: Any, customer: Any, week: dt.date, cases: str, distributor: Any = None) -> None:
        SalesFact.objects.create(
            tenant=t,
            distributor=distributor or firm.distributor,
            product=product,
            customer=customer,
            principal_id=0,
            period_kind="week",
            period_start=week,
            cases=Decimal(cases),
        )

    sold(pizza, diner, NOW, "10")
    sold(pizza, diner, NOW + dt.timedelta(weeks=1), "6")
    sold(pizza, cafe, NOW, "4")  # gained: not bought before
    sold(pizza, bar, BEFORE, "5")  # lost: bought before, not now
    sold(pizza, diner, BEFORE, "8")
    sold(pizza, diner, NOW, "2", other)  # another distributor
    sold(salsa, cafe, BEFORE, "3")  # lost
    sold(cola, diner, NOW, "7")  # principal B
    sold(pizza, diner, dt.date(2026, 1, 5), "99")  # outside both periods
    return {
        "pizza": pizza,
        "salsa": salsa,
        "cola": cola,
        "other": other,
        "diner": diner,
        "cafe": cafe,
        "bar": bar,
    }


def test_velocity_per_principal_distributor_and_product_against_the_period_before(
    firm: Firm, world: dict[str, Any], api: Any
) -> None:
    body = api(firm.admin).get("/api/v1/reports/sales-velocity/", PARAMS).json()
    assert body["period"] == {"date_from": "2026-03-02", "date_to": "2026-03-29"}
    assert body["previous_period"] == {"date_from": "2026-02-02", "date_to": "2026-03-01"}
    lines = {(r["distributor_name"], r["product_name"]): r for r in body["rows"]}
    pizza = lines[(firm.distributor.name, "Pizza")]
    assert (pizza["cases"], pizza["previous_cases"], pizza["change"]) == ("20.000", "13.000", "7.000")
    assert (pizza["cases_per_week"], pizza["previous_cases_per_week"]) == ("5.000", "3.250")
    assert (pizza["change_percent"], pizza["customers"], pizza["previous_customers"]) == ("53.8", 2, 2)
    assert lines[("Zeta Foods", "Pizza")]["cases"] == "2.000"
    assert lines[(firm.distributor.name, "Salsa")]["change_percent"] == "-100.0"
    principals = {r["principal"]: r for r in body["principals"]}
    assert principals[firm.principal_a.pk]["cases"] == "22.000"
    assert principals[firm.principal_b.pk]["cases"] == "7.000"
    assert body["total"]["cases"] == "29.000" and body["total"]["previous_cases"] == "16.000"
    only = api(firm.admin).get(
        "/api/v1/reports/sales-velocity/", {**PARAMS, "distributor": world["other"].pk}
    )
    assert [r["cases"] for r in only.json()["rows"]] == ["2.000"]


def test_velocity_counts_each_customer_once_in_a_principals_total_and_lists_rows_up_to_the_limit(
    firm: Firm, world: dict[str, Any], api: Any
) -> None:
    body = api(firm.admin).get("/api/v1/reports/sales-velocity/", PARAMS).json()
    principal_a = next(r for r in body["principals"] if r["principal"] == firm.principal_a.pk)
    # Now the diner buys pizza through two distributors and the cafe pizza: two customers, not three lines;
    # before the bar and the diner bought pizza, the cafe salsa: three.
    assert (principal_a["customers"], principal_a["previous_customers"]) == (2, 3)
    # The whole firm: the diner (pizza and cola) and the cafe now; the bar, the diner and the cafe before.
    assert (body["total"]["customers"], body["total"]["previous_customers"]) == (2, 3)
    names = [(r["principal_name"], r["distributor_name"], r["product_name"]) for r in body["rows"]]
    assert names == sorted(names) and body["rows_total"] == len(names) == 4
    first = api(firm.admin).get("/api/v1/reports/sales-velocity/", {**PARAMS, "rows_limit": 2}).json()
    assert [(r["distributor_name"], r["product_name"]) for r in first["rows"]] == [n[1:] for n in names[:2]]
    assert first["rows_total"] == 4
    assert (first["principals"], first["total"]) == (body["principals"], body["total"])  # every row counts
    csv = (
        api(firm.admin)
        .get("/api/v1/reports/sales-velocity/", {**PARAMS, "rows_limit": 2, "format": "csv"})
        .content.decode("utf-8-sig")
    )
    assert names[:2] == [(firm.principal_a.name, firm.distributor.name, p) for p in ("Pizza", "Salsa")]
    assert "Salsa" in csv and "Zeta Foods" not in csv and "Cola" not in csv  # the CSV lists the same rows
    for bad in ("0", "5001", "x"):
        refused = api(firm.admin).get("/api/v1/reports/sales-velocity/", {"rows_limit": bad})
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "rows_limit"
    distribution = (
        api(firm.admin).get("/api/v1/reports/points-of-distribution/", {**PARAMS, "rows_limit": 1}).json()
    )
    assert [r["product_name"] for r in distribution["rows"]] == ["Pizza"] and distribution["rows_total"] == 3
    assert distribution["total"]["points"] == 3 and distribution["lost_total"] == 2  # all rows still count


def test_velocity_covers_the_callers_book_only(firm: Firm, world: dict[str, Any], api: Any) -> None:
    for user, principals in (
        (firm.manager, {firm.principal_a.pk}),
        (firm.viewer, {firm.principal_a.pk}),
        (firm.other_manager, {firm.principal_b.pk}),
    ):
        body = api(user).get("/api/v1/reports/sales-velocity/", PARAMS).json()
        assert {r["principal"] for r in body["rows"]} == principals


def test_points_of_distribution_gained_and_lost(firm: Firm, world: dict[str, Any], api: Any) -> None:
    body = api(firm.manager).get("/api/v1/reports/points-of-distribution/", PARAMS).json()
    rows = {r["product_name"]: r for r in body["rows"]}
    assert {k: rows["Pizza"][k] for k in ("points", "previous_points", "gained", "lost")} == {
        "points": 2,  # diner, cafe
        "previous_points": 2,  # diner, bar
        "gained": 1,
        "lost": 1,
    }
    assert {k: rows["Salsa"][k] for k in ("points", "previous_points", "gained", "lost")} == {
        "points": 0,
        "previous_points": 1,
        "gained": 0,
        "lost": 1,
    }
    assert body["total"]["lost"] == 2 and body["lost_total"] == 2
    assert [(p["customer_name"], p["product_name"], p["previous_cases"]) for p in body["lost"]] == [
        ("Bar", "Pizza", "5.000"),
        ("Cafe", "Salsa", "3.000"),
    ]
    csv = api(firm.manager).get("/api/v1/reports/points-of-distribution/", {**PARAMS, "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "Pizza" in csv.content.decode("utf-8-sig")


def test_open_opportunities_for_products_the_account_buys_or_stopped_buying(
    firm: Firm, world: dict[str, Any], api: Any
) -> None:
    t = firm.tenant
    buying = f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=world["diner"], name="More pizza"
    )
    f.OpportunityProductFactory(tenant=t, opportunity=buying, product=world["pizza"])
    lapsed = f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=world["cafe"], name="Salsa back"
    )
    f.OpportunityProductFactory(tenant=t, opportunity=lapsed, product=world["salsa"])
    never = f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=world["bar"], name="Salsa new"
    )
    f.OpportunityProductFactory(tenant=t, opportunity=never, product=world["salsa"])
    params = {"date_from": "2026-03-02"}
    body = api(firm.manager).get("/api/v1/reports/buying-opportunities/", params).json()
    assert [(o["opportunity_name"], o["status"], o["last_period"]) for o in body["opportunities"]] == [
        ("More pizza", "buying", "2026-03-16"),
        ("Salsa back", "stopped", "2026-02-09"),
    ]
    assert body["total"] == 2
    assert api(firm.other_manager).get("/api/v1/reports/buying-opportunities/", params).json()["total"] == 0
    assert (
        api(firm.manager).get("/api/v1/reports/buying-opportunities/", {"date_to": "2026-03-02"}).status_code
        == 400
    )


def test_sales_reports_refuse_bad_parameters_as_problems(firm: Firm, api: Any) -> None:
    client = api(firm.admin)
    for params in (
        {"weeks": 0},
        {"weeks": 4, "date_from": "2026-03-02"},
        {"period_kind": "day"},
        {"distributer": 1},
    ):
        response = client.get("/api/v1/reports/sales-velocity/", params)
        assert response.status_code == 400, params
        assert response["Content-Type"].startswith("application/problem+json")


def test_scorecard_sell_through_against_the_period_before(
    firm: Firm, world: dict[str, Any], api: Any
) -> None:
    params = {**PARAMS, "principal": firm.principal_a.pk}
    body = api(firm.manager).get("/api/v1/reports/principal-scorecard/", params).json()
    sales = body["sell_through"]
    # Now: diner 10 + 6 + 2 (Zeta), cafe 4; before: bar 5, diner 8, cafe's salsa 3; January's 99 in neither.
    assert (sales["cases"], sales["previous_cases"], sales["change"], sales["change_percent"]) == (
        "22.000",
        "16.000",
        "6.000",
        "37.5",
    )
    assert (sales["customers"], sales["previous_customers"]) == (2, 3)  # diner, cafe; bar, diner, cafe
    # Product × customer: now pizza at the diner and the cafe; before pizza at the bar and the diner, salsa
    # at the cafe: pizza at the cafe gained, pizza at the bar and salsa at the cafe lost.
    assert {k: sales[k] for k in ("points", "previous_points", "points_gained", "points_lost")} == {
        "points": 2,
        "previous_points": 3,
        "points_gained": 1,
        "points_lost": 2,
    }
    assert [
        (d["distributor_name"], d["cases"], d["previous_cases"], d["change"], d["customers"])
        for d in sales["top_distributors"]
    ] == [
        (firm.distributor.name, "20.000", "16.000", "4.000", 2),
        ("Zeta Foods", "2.000", "0.000", "2.000", 1),
    ]
    csv = api(firm.manager).get("/api/v1/reports/principal-scorecard/", {**params, "format": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert "sell_through,all,points_lost,2" in lines
    assert "sell_through,Zeta Foods,cases,2.000" in lines
    other = api(firm.other_manager).get(
        "/api/v1/reports/principal-scorecard/", {**PARAMS, "principal": firm.principal_b.pk}
    )
    assert other.json()["sell_through"]["cases"] == "7.000"


def test_scorecard_sell_through_is_zero_without_sales(firm: Firm, api: Any) -> None:
    params = {**PARAMS, "principal": firm.principal_a.pk}
    sales = api(firm.admin).get("/api/v1/reports/principal-scorecard/", params).json()["sell_through"]
    assert (sales["cases"], sales["change_percent"], sales["points"], sales["top_distributors"]) == (
        "0.000",
        None,
        0,
        [],
    )


def test_the_default_period_is_the_last_whole_weeks_and_a_date_from_runs_to_today() -> None:
    from reports.selectors.sales import sales_period

    for today in (dt.date(2026, 12, 7), dt.date(2026, 12, 9), dt.date(2026, 12, 13)):  # Monday … Sunday
        period = sales_period(today=today, weeks=13, date_from=None, date_to=None)
        # Distributors report a week after it ends: 13 whole weeks up to the last Sunday, 91 days.
        assert (period.date_from, period.date_to, period.days) == (
            dt.date(2026, 9, 7),
            dt.date(2026, 12, 6),
            91,
        ), today
        assert period.previous.days == 91
    given = sales_period(today=dt.date(2026, 12, 9), weeks=13, date_from=dt.date(2026, 12, 7), date_to=None)
    assert (given.date_from, given.date_to) == (dt.date(2026, 12, 7), dt.date(2026, 12, 9))
    ending = sales_period(today=dt.date(2026, 12, 9), weeks=2, date_from=None, date_to=dt.date(2026, 3, 29))
    assert (ending.date_from, ending.date_to) == (dt.date(2026, 3, 16), dt.date(2026, 3, 29))


def test_a_week_cut_by_the_periods_first_or_last_day_counts_in_neither_period(
    firm: Firm, world: dict[str, Any], api: Any
) -> None:
    for week, cases in ((dt.date(2026, 3, 2), "50"), (dt.date(2026, 3, 30), "70")):
        SalesFact.objects.create(
            tenant=firm.tenant, distributor=firm.distributor, product=world["pizza"], customer=world["diner"],
            principal_id=0, period_kind="week", period_start=week, cases=Decimal(cases),
        )  # fmt: skip
    # Wednesday 4 March to Tuesday 31 March: the whole weeks of 9, 16 and 23 March; before it, 4 February to
    # 3 March: those of 9, 16 and 23 February. The weeks of 2 and 30 March are cut: in neither.
    params = {"date_from": "2026-03-04", "date_to": "2026-03-31"}
    body = api(firm.admin).get("/api/v1/reports/sales-velocity/", params).json()
    pizza = next(
        r for r in body["rows"] if (r["distributor"], r["product_name"]) == (firm.distributor.pk, "Pizza")
    )
    assert (pizza["cases"], pizza["previous_cases"]) == ("20.000", "13.000")
    assert (pizza["cases_per_week"], pizza["previous_cases_per_week"]) == (
        "6.667",
        "4.333",
    )  # over 3 weeks each
    scorecard = (
        api(firm.admin)
        .get("/api/v1/reports/principal-scorecard/", {**params, "principal": firm.principal_a.pk})
        .json()["sell_through"]
    )
    assert (scorecard["cases"], scorecard["previous_cases"]) == ("22.000", "16.000")
    # A period holding no whole week counts nothing, and says so without dividing by zero.
    short = api(firm.admin).get(
        "/api/v1/reports/sales-velocity/", {"date_from": "2026-03-10", "date_to": "2026-03-12"}
    )
    assert short.status_code == 200 and short.json()["total"]["cases_per_week"] == "0.000"


def test_whole_weeks_and_months_of_a_period() -> None:
    from reports.selectors.common import Period
    from reports.selectors.sales import Counted

    months = Counted.of(Period(dt.date(2026, 3, 15), dt.date(2026, 6, 14)), "month")
    assert (months.first, months.last, months.days) == (dt.date(2026, 4, 1), dt.date(2026, 5, 1), 61)
    exact = Counted.of(Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30)), "month")
    assert (exact.first, exact.last, exact.days) == (dt.date(2026, 4, 1), dt.date(2026, 6, 1), 91)
    weeks = Counted.of(Period(dt.date(2026, 3, 2), dt.date(2026, 3, 29)), "week")
    assert (weeks.first, weeks.last, weeks.days) == (dt.date(2026, 3, 2), dt.date(2026, 3, 23), 28)
    none = Counted.of(Period(dt.date(2026, 3, 3), dt.date(2026, 3, 8)), "week")
    assert none.days == 0 and none.first > none.last
