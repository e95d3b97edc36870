"""Weekly activity: interactions per principal per ISO week, by type, against the previous period.

Principal A at the Bistro: this week's Monday two calls (manager) and an email (admin), a meeting the
week before, a site visit seven weeks back (the first week of the default eight); at the Diner, two calls
eight weeks back (the previous period). One soft-deleted call. Principal B: a call two days ago. Shared
interactions (no principal) and the follow-ups logged 200 days ago are outside the report.
"""

from __future__ import annotations

import datetime as dt

from reports.selectors import iso_week
from tests.reports.support import World


def weeks_of(world: World, count: int = 8) -> list[dt.date]:
    return [world.monday - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def test_manager_weekly_activity_counts_per_week_and_type_with_the_change(world: World) -> None:
    a = world.firm.principal_a
    body = world.get("manager", "weekly-activity")
    mondays = weeks_of(world)
    assert body["weeks"] == [{"week": iso_week(d), "week_start": d.isoformat()} for d in mondays]
    assert body["period"] == {"date_from": mondays[0].isoformat(), "date_to": world.today.isoformat()}
    length = (world.today - mondays[0]).days + 1
    assert body["previous_period"] == {
        "date_from": (mondays[0] - dt.timedelta(days=length)).isoformat(),
        "date_to": (mondays[0] - dt.timedelta(days=1)).isoformat(),
    }
    [principal] = body["principals"]
    assert (principal["principal"], principal["principal_name"]) == (a.pk, a.name)
    assert [w["interactions"] for w in principal["weeks"]] == [1, 0, 0, 0, 0, 0, 1, 3]
    assert principal["weeks"][0]["by_type"] == {"site_visit": 1}
    assert principal["weeks"][6]["by_type"] == {"meeting": 1}
    assert principal["weeks"][7]["by_type"] == {"call": 2, "email": 1}
    assert principal["by_type"] == [
        {"type": "call", "interactions": 2, "previous_interactions": 2, "change": 0},
        {"type": "email", "interactions": 1, "previous_interactions": 0, "change": 1},
        {"type": "meeting", "interactions": 1, "previous_interactions": 0, "change": 1},
        {"type": "site_visit", "interactions": 1, "previous_interactions": 0, "change": 1},
    ]
    assert (principal["interactions"], principal["previous_interactions"]) == (5, 2)
    assert (principal["change"], principal["change_percent"]) == (3, "150.0")
    assert body["total"]["interactions"] == 5
    assert [w["interactions"] for w in body["total"]["weeks"]] == [1, 0, 0, 0, 0, 0, 1, 3]


def test_admin_weekly_activity_lists_every_principal_and_no_other_firm(world: World) -> None:
    body = world.get("admin", "weekly-activity")
    assert [p["principal_name"] for p in body["principals"]] == ["Acme Principal A", "Acme Principal B"]
    b = body["principals"][1]
    assert (b["interactions"], b["previous_interactions"], b["change_percent"]) == (1, 0, None)
    assert (body["total"]["interactions"], body["total"]["previous_interactions"]) == (6, 2)


def test_manager_weekly_activity_never_counts_another_book_or_firm(world: World) -> None:
    assert [p["principal_name"] for p in world.get("manager", "weekly-activity")["principals"]] == [
        "Acme Principal A"
    ]
    assert world.get("manager", "weekly-activity", principal=world.firm.principal_b.pk)["principals"] == []
    other = world.get("manager", "weekly-activity", principal=world.rival.principal_a.pk)
    assert other["principals"] == [] and other["total"]["interactions"] == 0


def test_viewer_weekly_activity_is_their_book(world: World) -> None:
    body = world.get("viewer", "weekly-activity")
    assert [(p["principal_name"], p["interactions"]) for p in body["principals"]] == [("Acme Principal A", 5)]


def test_weekly_activity_filters_by_owner_weeks_and_dates(world: World) -> None:
    mine = world.get("manager", "weekly-activity", owner=world.firm.manager.pk)["principals"][0]
    assert (mine["interactions"], mine["previous_interactions"], mine["change_percent"]) == (4, 2, "100.0")

    two = world.get("manager", "weekly-activity", weeks=2)
    assert [w["week"] for w in two["weeks"]] == [iso_week(d) for d in weeks_of(world, 2)]
    assert two["principals"][0]["interactions"] == 4  # the meeting and this week's three
    assert two["principals"][0]["previous_interactions"] == 0

    last_week = world.monday - dt.timedelta(weeks=1)
    explicit = world.get(
        "manager",
        "weekly-activity",
        date_from=last_week.isoformat(),
        date_to=(world.monday - dt.timedelta(days=1)).isoformat(),
    )
    assert [w["week"] for w in explicit["weeks"]] == [iso_week(last_week)]
    assert explicit["principals"][0]["interactions"] == 1
