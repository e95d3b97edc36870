"""Each report runs a fixed number of queries, whatever the number of rows it covers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.selectors.common import week_start
from sales.models import SalesFact
from tests import factories as f
from tests.reports.support import REPORTS, World, at, count_queries

REPORT_NAMES = [
    "pipeline",
    "weekly-activity",
    "follow-ups",
    "stale-accounts",
    "stale-opportunities",
    "win-loss",
    "distributor-coverage",
    "principal-scorecard",
]


def grow(world: World) -> None:
    """More of everything in principal A: customers, distributors, products, deals, touches, follow-ups."""
    firm, tenant = world.firm, world.firm.tenant
    for n in range(5):
        customer = f.CustomerFactory(tenant=tenant)
        distributor = f.DistributorFactory(tenant=tenant)
        f.DistributorAuthorizationFactory(tenant=tenant, distributor=distributor, principal=firm.principal_a)
        f.CustomerDistributorFactory(tenant=tenant, customer=customer, distributor=distributor)
        f.ProductFactory(tenant=tenant, principal=firm.principal_a, status="coming_soon")
        for stage in ("new_lead", "feedback_logged", "closed_won", "closed_lost"):
            f.OpportunityFactory(
                tenant=tenant, principal=firm.principal_a, customer=customer, owner=firm.manager, stage=stage,
                distributor=distributor, weekly_case_volume=Decimal(n), win_reason="Price", loss_reason="Price",
                closed_on=world.today if stage.startswith("closed") else None,
                next_action_date=world.today - dt.timedelta(days=n + 1),
            )  # fmt: skip
        f.InteractionFactory(
            tenant=tenant, organization=customer, principal=firm.principal_a, user=firm.manager,
            occurred_at=at(world.today - dt.timedelta(days=7 * n)), type="tasting",
            follow_up_on=world.today - dt.timedelta(days=n),
        )  # fmt: skip
        sampled = f.SampleInteractionFactory(
            tenant=tenant, organization=customer, principal=firm.principal_a, user=firm.manager,
            occurred_at=at(world.today - dt.timedelta(days=n)),
        )  # fmt: skip
        f.SampleFactory(tenant=tenant, interaction=sampled, status="sent")
        product = f.ProductFactory(tenant=tenant, principal=firm.principal_a)
        for weeks in (0, 5):  # this period's and the one before's
            SalesFact.objects.create(
                tenant=tenant, distributor=distributor, product=product, customer=customer, principal_id=0,
                period_kind="week", period_start=week_start(world.today) - dt.timedelta(weeks=weeks),
                cases=Decimal(n + 1),
            )  # fmt: skip


@pytest.mark.parametrize("report", REPORT_NAMES)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_report_query_count_does_not_grow_with_the_rows(world: World, report: str, role: str) -> None:
    url = f"{REPORTS}/{report}/?principal={world.firm.principal_a.pk}"
    client = world.client(role)
    few = count_queries(client, url)
    grow(world)
    assert count_queries(client, url) == few
    assert count_queries(client, url + "&format=csv") == few
    # The request's transaction and RLS context, the firm's and member's time zones, then the report's own
    # statements: a handful (the scorecard's seven, its samples' and its sell-through's included: one more
    # than the other reports' budget, for the scorecard only).
    assert few <= (12 if report == "principal-scorecard" else 11), few
