"""The reports suite's hand-built data set: two principals of one firm (A in the manager's and the viewer's
book, B in the other manager's) and a rival firm, with every date set relative to today so each report's
numbers can be worked out by hand (they are, in each test module's docstring and asserts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import User
from opportunities.models import Opportunity
from organizations.models import Organization
from reports.selectors import quarter_start, quarters_back, utc_today, week_start
from tests import factories as f
from tests.conftest import Firm, client_for

REPORTS = "/api/v1/reports"


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def backdate(model: type[models.Model], rows: list[Any], **values: Any) -> None:
    """Set columns the database keeps (created_at, stage_changed_at) on `rows`, as the owner with the
    table's triggers off: the only way to make a row look older."""
    table = model._meta.db_table
    assignments = ", ".join(f"{column} = %s" for column in values)
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred FK checks of earlier inserts are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ANY(%s)", [*values.values(), [r.pk for r in rows]]
        )
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content
    return response.json()


def count_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@dataclass
class World:
    firm: Firm
    rival: Firm
    today: dt.date
    monday: dt.date
    bistro: Organization
    diner: Organization
    grill: Organization
    cafe: Organization
    foodservice: Organization  # distributor, A's authorization expired 10 days ago
    wholesale: Organization  # distributor authorized for B only
    opportunities: dict[str, Any] = field(default_factory=dict)  # factory-made Opportunity rows
    interactions: dict[str, Any] = field(default_factory=dict)  # factory-made Interaction rows

    def client(self, role: str) -> APIClient:
        return client_for(getattr(self.firm, role))

    def user(self, role: str) -> User:
        return getattr(self.firm, role)  # type: ignore[no-any-return]

    def get(self, role: str, report: str, **params: Any) -> Any:
        return ok(self.client(role).get(f"{REPORTS}/{report}/", params))


def build_world(firm: Firm, rival: Firm) -> World:
    today = utc_today()
    monday = week_start(today)
    tenant = firm.tenant
    a, b = firm.principal_a, firm.principal_b
    world = World(
        firm=firm,
        rival=rival,
        today=today,
        monday=monday,
        bistro=firm.customer,  # "Acme Bistro"
        diner=f.CustomerFactory(tenant=tenant, name="Acme Diner"),
        grill=f.CustomerFactory(tenant=tenant, name="Acme Grill"),
        cafe=f.CustomerFactory(tenant=tenant, name="Acme Cafe"),
        foodservice=f.DistributorFactory(tenant=tenant, name="Acme Foodservice"),
        wholesale=f.DistributorFactory(tenant=tenant, name="Acme Wholesale"),
    )
    days = dt.timedelta

    def opportunity(
        key: str, principal: Organization, customer: Organization, owner: User, **kw: Any
    ) -> None:
        kw.setdefault("probability", 100 if kw.get("stage") == "closed_won" else 50)
        world.opportunities[key] = f.OpportunityFactory(
            tenant=tenant, name=key, principal=principal, customer=customer, owner=owner, **kw
        )

    m, admin, other = firm.manager, firm.admin, firm.other_manager
    # Open.
    opportunity(
        "A1",
        a,
        world.bistro,
        m,
        weekly_case_volume=Decimal(10),
        probability=50,
        next_action="Send samples",
        next_action_date=today - days(2),
    )
    opportunity(
        "A2", a, world.diner, m, weekly_case_volume=Decimal(20), probability=25, next_action_date=today
    )
    opportunity(
        "A3",
        a,
        world.grill,
        admin,
        stage="demo_scheduled",
        weekly_case_volume=Decimal(8),
        probability=75,
        distributor=firm.distributor,
    )
    opportunity("A7", a, world.bistro, m, weekly_case_volume=Decimal(1000), deleted_at=timezone.now())
    opportunity(
        "B1", b, world.cafe, other, stage="initial_outreach", weekly_case_volume=Decimal(100), probability=10
    )
    opportunity(
        "B3",
        b,
        world.diner,
        m,
        weekly_case_volume=Decimal(7),
        probability=10,
        next_action_date=today - days(4),
    )
    # Closed.
    this_quarter, last_quarter_end = quarter_start(today), quarter_start(today) - days(1)
    won, lost = {"stage": "closed_won"}, {"stage": "closed_lost", "probability": 0}
    opportunity(
        "A4",
        a,
        world.bistro,
        m,
        **won,
        weekly_case_volume=Decimal(40),
        closed_on=this_quarter,
        win_reason="Price",
        next_action_date=today - days(10),
    )
    opportunity(
        "A5",
        a,
        world.diner,
        m,
        **lost,
        weekly_case_volume=Decimal(5),
        closed_on=last_quarter_end,
        loss_reason="Incumbent distributor",
    )
    opportunity(
        "A6",
        a,
        world.bistro,
        m,
        **won,
        weekly_case_volume=Decimal(12),
        closed_on=quarters_back(today, 4),
        win_reason="Price",
    )
    opportunity(
        "A9",
        a,
        world.bistro,
        m,
        **won,
        weekly_case_volume=Decimal(6),
        closed_on=this_quarter,
        win_reason="Price",
    )
    opportunity(
        "A10",
        a,
        world.bistro,
        admin,
        **won,
        weekly_case_volume=Decimal(4),
        closed_on=this_quarter,
        win_reason=" Better yield ",
    )
    opportunity(
        "B2",
        b,
        world.bistro,
        other,
        **won,
        weekly_case_volume=Decimal(50),
        closed_on=this_quarter,
        win_reason="Taste",
    )
    ages = {"A1": 10, "A2": 20, "A3": 30, "B1": 40, "B3": 5}
    for key, age in ages.items():
        moment = at(today - days(age))
        backdate(Opportunity, [world.opportunities[key]], created_at=moment, stage_changed_at=moment)

    def interaction(
        key: str,
        organization: Organization,
        principal: Organization | None,
        user: User,
        day: dt.date,
        kind: str = "call",
        **kw: Any,
    ) -> None:
        world.interactions[key] = f.InteractionFactory(
            tenant=tenant,
            organization=organization,
            principal=principal,
            user=user,
            occurred_at=at(day, 10),
            type=kind,
            **kw,
        )

    # Activity of principal A (weekly activity, scorecard) at the Bistro, and earlier at the Diner.
    interaction("W0a", world.bistro, a, m, monday)
    interaction("W0b", world.bistro, a, m, monday)
    interaction("W0c", world.bistro, a, admin, monday, "email")
    interaction("W0-deleted", world.bistro, a, m, monday, deleted_at=timezone.now())
    interaction("W1", world.bistro, a, m, monday - days(7), "meeting")
    interaction("W7", world.bistro, a, m, monday - days(49), "site_visit")
    interaction("P1", world.diner, a, m, monday - days(56))
    interaction("P2", world.diner, a, m, monday - days(56))
    # Principal B's, and shared ones (no principal: managers see them, viewers do not).
    interaction("B-diner", world.diner, b, other, today - days(2))
    interaction("S-bistro", world.bistro, None, m, monday)
    interaction("S-grill", world.grill, None, admin, today - days(1))
    # Follow-ups, logged long ago (outside every activity period).
    long_ago = today - days(200)
    interaction("F1", world.bistro, a, m, long_ago, follow_up_on=today - days(3))
    interaction("F2", world.bistro, None, m, long_ago, "email", follow_up_on=today)
    interaction("F3", world.bistro, a, m, long_ago, follow_up_on=today - days(1), follow_up_done=True)
    interaction("F4", world.bistro, a, m, long_ago, follow_up_on=today + days(2))
    interaction("F5", world.bistro, a, other, long_ago, follow_up_on=today - days(5))
    interaction("F6", world.diner, b, m, long_ago, follow_up_on=today - days(6))
    interaction("F7", world.bistro, a, m, long_ago, follow_up_on=today - days(8), deleted_at=timezone.now())

    # Distribution.
    f.DistributorAuthorizationFactory(tenant=tenant, distributor=firm.distributor, principal=a)
    f.DistributorAuthorizationFactory(
        tenant=tenant,
        distributor=world.foodservice,
        principal=a,
        authorized_on=today - days(100),
        expires_on=today - days(10),
    )
    f.DistributorAuthorizationFactory(tenant=tenant, distributor=world.wholesale, principal=b)
    f.CustomerDistributorFactory(
        tenant=tenant, customer=world.bistro, distributor=firm.distributor, is_primary=True
    )
    f.CustomerDistributorFactory(tenant=tenant, customer=world.diner, distributor=firm.distributor)
    f.CustomerDistributorFactory(
        tenant=tenant, customer=world.grill, distributor=world.foodservice, is_primary=True
    )
    f.CustomerDistributorFactory(tenant=tenant, customer=world.cafe, distributor=world.wholesale)
    f.CustomerDistributorFactory(
        tenant=tenant, customer=world.grill, distributor=firm.distributor, deleted_at=timezone.now()
    )

    # Products.
    for status in ("active", "active", "discontinued", "seasonal"):
        f.ProductFactory(tenant=tenant, principal=a, status=status)
    f.ProductFactory(tenant=tenant, principal=a, deleted_at=timezone.now())
    f.ProductFactory(tenant=tenant, principal=b)

    build_rival(rival, today)
    return world


def build_rival(rival: Firm, today: dt.date) -> None:
    """The other firm: rows of every kind, each of which would change a number if it leaked."""
    tenant, a = rival.tenant, rival.principal_a
    f.OpportunityFactory(
        tenant=tenant,
        principal=a,
        customer=rival.customer,
        owner=rival.manager,
        weekly_case_volume=Decimal(500),
        next_action_date=today - dt.timedelta(days=1),
    )
    stale = f.OpportunityFactory(tenant=tenant, principal=a, customer=rival.customer, owner=rival.manager)
    backdate(Opportunity, [stale], stage_changed_at=at(today - dt.timedelta(days=90)))
    f.OpportunityFactory(
        tenant=tenant,
        principal=a,
        customer=rival.customer,
        stage="closed_won",
        probability=100,
        closed_on=quarter_start(today),
        win_reason="Price",
    )
    for day in (today, today - dt.timedelta(days=60)):
        f.InteractionFactory(
            tenant=tenant,
            organization=rival.customer,
            principal=a,
            user=rival.manager,
            occurred_at=at(day),
            follow_up_on=today - dt.timedelta(days=1),
        )
    f.DistributorAuthorizationFactory(tenant=tenant, distributor=rival.distributor, principal=a)
    f.CustomerDistributorFactory(tenant=tenant, customer=rival.customer, distributor=rival.distributor)
    f.ProductFactory(tenant=tenant, principal=a)
