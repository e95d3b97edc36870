"""The sales dashboard in the admin: the signed-in member's reports as tables and inline SVG charts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.etree import ElementTree

from django.test import Client

from reports.charts import bar_chart, column_chart
from sales.models import SalesFact
from tests import factories as f
from tests.reports.support import World

DASHBOARD = "/admin/dashboard/"


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_dashboard_renders_the_managers_book_with_svg_charts(world: World) -> None:
    response = signed_in(world.firm.manager).get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    charts = re.findall(r'<svg[^>]*class="report-chart".*?</svg>', page, flags=re.DOTALL)
    assert len(charts) == 5  # pipeline, activity, win/loss, and the scorecard's two
    assert "<script" not in page.split('id="content-main"')[1]
    assert "Acme Principal A" in page and "Acme Principal B" not in page
    assert "Acme Diner" in page  # a stale account
    assert "Send samples" in page  # an overdue next action
    assert "/api/v1/reports/pipeline/?format=csv" in page
    for svg in charts:
        ElementTree.fromstring(svg)  # well-formed, as a browser's SVG parser wants it


def test_dashboard_shows_the_chosen_principal_of_the_book_only(world: World) -> None:
    admin = signed_in(world.firm.admin)
    page = admin.get(DASHBOARD, {"principal": world.firm.principal_b.pk}).content.decode()
    assert "Scorecard: Acme Principal B" in page and "Acme Wholesale" in page
    # A principal outside the book is not offered, and asking for it shows the first of the book.
    manager_page = signed_in(world.firm.manager).get(DASHBOARD, {"principal": world.firm.principal_b.pk})
    assert "Scorecard: Acme Principal A" in manager_page.content.decode()


def test_dashboard_is_linked_from_the_admin_index_and_needs_sign_in(world: World) -> None:
    index = signed_in(world.firm.viewer).get("/admin/").content.decode()
    assert f'href="{DASHBOARD}"' in index and "Sales dashboard" in index
    assert signed_in(world.firm.viewer).get(DASHBOARD).status_code == 200
    anonymous = Client().get(DASHBOARD)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")


def test_charts_scale_bars_to_the_largest_value_and_escape_labels() -> None:
    svg = bar_chart([("<A>", [10]), ("B", [5])], title="t", width=400, label_width=100)
    assert svg.count("<rect") == 2
    assert 'width="240.0"' in svg and 'width="120.0"' in svg  # plot = 400 - 100 - 60
    assert "&lt;A&gt;" in svg and "<A>" not in svg
    empty = column_chart([("W01", 0)], title="none")
    assert 'height="0.0"' in empty


def test_follow_ups_name_the_type_once() -> None:
    from types import SimpleNamespace

    from reports.templatetags.report_tags import typed_subject

    repeated = SimpleNamespace(type="site_visit", subject="Site visit: Acme at Joe's Diner")
    assert typed_subject(repeated) == "Site visit: Acme at Joe's Diner"
    assert typed_subject(SimpleNamespace(type="call", subject="Menu review")) == "Call: Menu review"
    assert typed_subject(SimpleNamespace(type="email", subject="")) == "Email"


def test_dashboard_follow_ups_do_not_repeat_the_type(world: World) -> None:
    import datetime as dt

    from django.utils import timezone

    from tests import factories as f

    f.InteractionFactory(
        tenant=world.firm.tenant,
        organization=world.bistro,
        principal=world.firm.principal_a,
        user=world.firm.manager,
        type="site_visit",
        subject="Site visit: Acme at the Bistro",
        occurred_at=timezone.now() - dt.timedelta(days=40),
        follow_up_on=timezone.now().date() - dt.timedelta(days=2),
    )
    page = signed_in(world.firm.manager).get(DASHBOARD).content.decode()
    assert "<td>Site visit: Acme at the Bistro</td>" in page
    follow_ups = page.split('id="follow-ups"')[1].split('id="stale"')[0]
    assert "<td>Call: Call about line review" in follow_ups  # a subject not starting "Type:" gets it
    assert not re.search(r"(\w[\w ]*): \1:", follow_ups)


def test_dashboard_shows_sell_through_per_principal_and_in_the_scorecard(world: World) -> None:
    firm, tenant = world.firm, world.firm.tenant
    pizza = f.ProductFactory(tenant=tenant, principal=firm.principal_a, name="Pizza")
    cola = f.ProductFactory(tenant=tenant, principal=firm.principal_b, name="Cola")
    for product, customer, weeks_ago, cases in (
        (pizza, world.diner, 2, "12"),  # whole weeks in the scorecard's four weeks, and in velocity's 13
        (pizza, world.grill, 1, "3"),
        (pizza, world.diner, 5, "5"),  # the scorecard's period before; still in velocity's 13 weeks
        (cola, world.cafe, 0, "40"),  # principal B: outside the manager's book
    ):
        SalesFact.objects.create(
            tenant=tenant, distributor=world.foodservice, product=product, customer=customer,
            principal_id=0, period_kind="week", period_start=world.monday - dt.timedelta(weeks=weeks_ago),
            cases=Decimal(cases),
        )  # fmt: skip
    page = signed_in(firm.manager).get(DASHBOARD).content.decode()
    block = page.split('id="sell-through"')[1].split('<div class="module"')[0]
    assert "Acme Principal A" in block and "Acme Principal B" not in block
    assert '<td class="num">20.000</td>' in block  # 12 + 3 + 5 in the last 13 whole weeks
    scorecard = page.split('id="scorecard-sell-through"')[1].split("</table>")[0]
    assert "15.000 cases (+10.000 against the 5.000 before, 200.0 %)" in scorecard
    assert "2 customers buying" in scorecard
    assert "Points of distribution 2 (+1, −0 against the 1 before)" in scorecard
    assert '<td>Acme Foodservice</td><td class="num">15.000</td>' in scorecard
