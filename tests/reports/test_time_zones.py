"""Reports count days and ISO weeks in the firm's time zone, and say which (ADR 0028); the follow-ups
report is as of the member's own today. California, across the end of daylight saving time on Sunday
2026-11-01 (clocks back at 2 am: UTC−7 before, UTC−8 after)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from crm import timezones
from crm.models import Membership, Tenant
from tests import factories as f
from tests.api.support import ok
from tests.conftest import Firm, client_for
from tests.integrity.sql import backdate

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports"
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LA)


def log(firm: Firm, when: dt.datetime, kind: str = "call") -> None:
    f.InteractionFactory(
        tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a, user=firm.manager,
        occurred_at=when, type=kind,
    )  # fmt: skip


def in_california(firm: Firm) -> None:
    Tenant.objects.filter(pk=firm.tenant.pk).update(time_zone="America/Los_Angeles")


def activity(firm: Firm, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return ok(client_for(firm.manager).get(f"{REPORTS}/weekly-activity/?{query}"))


def test_a_sunday_evening_call_counts_in_that_week_in_the_firms_zone(firm: Firm) -> None:
    # 6 pm on Sunday 2026-11-01 in California is 02:00 on Monday 2026-11-02 in UTC.
    log(firm, local(2026, 11, 1, 18, 0))
    utc_body = activity(firm, date_from="2026-10-26", date_to="2026-11-08")
    assert utc_body["time_zone"] == "UTC"
    assert [w["interactions"] for w in utc_body["total"]["weeks"]] == [0, 1]  # the UTC count: next week
    in_california(firm)
    body = activity(firm, date_from="2026-10-26", date_to="2026-11-08")
    assert body["time_zone"] == "America/Los_Angeles"
    assert [(w["week"], w["interactions"]) for w in body["total"]["weeks"]] == [
        ("2026-W44", 1),
        ("2026-W45", 0),
    ]


def test_a_period_is_the_firms_whole_days_across_the_dst_change(firm: Firm) -> None:
    in_california(firm)
    log(firm, local(2026, 10, 31, 23, 59))  # Saturday: not in the period (06:59 UTC on Sunday)
    log(firm, local(2026, 11, 1, 0, 0))  # Sunday's first minute (PDT)
    log(
        firm,
        local(
            2026,
            11,
            1,
            1,
            30,
        ),
    )  # the first 1:30 (PDT)
    log(firm, local(2026, 11, 1, 23, 59))  # Sunday's last minute (PST: 07:59 UTC on Monday)
    log(firm, local(2026, 11, 2, 0, 0))  # Monday: not in the period
    body = activity(firm, date_from="2026-11-01", date_to="2026-11-01")
    assert body["total"]["interactions"] == 3
    # The previous period is Saturday, California's: one call.
    assert body["total"]["previous_interactions"] == 1
    scorecard = ok(
        client_for(firm.manager).get(
            f"{REPORTS}/principal-scorecard/?principal={firm.principal_a.pk}&date_from=2026-11-01&date_to=2026-11-01"
        )
    )
    assert (scorecard["time_zone"], scorecard["activity"]["interactions"]) == ("America/Los_Angeles", 3)


def test_days_in_stage_count_the_firms_days(firm: Firm) -> None:
    in_california(firm)
    opportunity = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, owner=firm.manager
    )
    # Moved into its stage at 5 pm yesterday in California: after midnight UTC when that is today there,
    # so a UTC count would say 0 days, California's says 1.
    now_la = dt.datetime.now(LA)
    moved = dt.datetime.combine(now_la.date() - dt.timedelta(days=1), dt.time(17, 0), tzinfo=LA)
    backdate("opportunity", opportunity.pk, stage_changed_at=moved)
    body = ok(client_for(firm.manager).get(f"{REPORTS}/pipeline/"))
    assert body["time_zone"] == "America/Los_Angeles"
    assert body["as_of"] == now_la.date().isoformat()
    assert float(body["total"]["average_days_in_stage"]) == 1.0


def test_follow_ups_are_as_of_the_members_own_today(firm: Firm) -> None:
    Tenant.objects.filter(pk=firm.tenant.pk).update(time_zone="Pacific/Kiritimati")  # UTC+14
    Membership.objects.filter(user=firm.manager).update(time_zone="Pacific/Pago_Pago")  # UTC−11
    body = ok(client_for(firm.manager).get(f"{REPORTS}/follow-ups/"))
    assert body["time_zone"] == "Pacific/Pago_Pago"
    assert body["as_of"] == timezones.today_in(zoneinfo.ZoneInfo("Pacific/Pago_Pago")).isoformat()
    # The firm's reports are a day (or two) ahead: Kiritimati's today.
    pipeline = ok(client_for(firm.manager).get(f"{REPORTS}/pipeline/"))
    assert pipeline["as_of"] == timezones.today_in(zoneinfo.ZoneInfo("Pacific/Kiritimati")).isoformat()
    assert pipeline["as_of"] != body["as_of"]
