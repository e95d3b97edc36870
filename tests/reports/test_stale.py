"""Stale accounts (no interaction in N days, default 30) and stale deals (no stage change in N days,
default 21).

Accounts of the book are the customers with a live opportunity of a visible principal: for the manager
(principal A) the Bistro, the Diner and the Grill. The Bistro was touched this week; the Grill yesterday,
but by a shared interaction (no principal), which managers see and viewers do not; the Diner's last
principal-A touch was eight weeks ago, and its principal-B call two days ago is outside the book. The
admin's accounts add the Cafe (principal B only, never touched).

Open deals: A1 10 days in stage, A2 20, A3 30, B1 40, B3 5.
"""

from __future__ import annotations

import datetime as dt

from tests.reports.support import World, at


def diner_days(world: World) -> int:
    return (world.today - (world.monday - dt.timedelta(days=56))).days


def test_manager_stale_accounts_are_their_book_untouched_in_30_days(world: World) -> None:
    body = world.get("manager", "stale-accounts")
    assert body["window"] == {
        "date_from": (world.today - dt.timedelta(days=29)).isoformat(),
        "date_to": world.today.isoformat(),
    }
    last = at(world.monday - dt.timedelta(days=56), 10).isoformat().replace("+00:00", "Z")
    assert body["accounts"] == [
        {
            "customer": world.diner.pk,
            "customer_name": "Acme Diner",
            "type": "customer",
            "priority": "C",
            "account_manager": None,
            "principals": ["Acme Principal A"],
            "opportunities": 2,
            "open_opportunities": 1,
            "last_interaction_at": last,
            "days_since_interaction": diner_days(world),
        }
    ]


def test_stale_accounts_never_count_another_book_or_firm(world: World) -> None:
    # The viewer sees no shared interactions: the Grill is never touched for them (first), the Diner after.
    viewer = world.get("viewer", "stale-accounts")["accounts"]
    assert [(a["customer_name"], a["days_since_interaction"]) for a in viewer] == [
        ("Acme Grill", None),
        ("Acme Diner", diner_days(world)),
    ]
    # For the admin, principal B's call made the Diner fresh, and the Cafe (B's) is stale.
    admin = world.get("admin", "stale-accounts")["accounts"]
    assert [(a["customer_name"], a["principals"]) for a in admin] == [("Acme Cafe", ["Acme Principal B"])]
    assert world.get("manager", "stale-accounts", principal=world.rival.principal_a.pk)["accounts"] == []


def test_stale_accounts_by_days_principal_owner_and_window(world: World) -> None:
    # Within 3 days only the Grill (yesterday) counts as touched for the manager… and the Bistro's Monday
    # calls when today is at most two days after Monday; else the Bistro is stale, last touched on Monday,
    # so after the Diner (eight weeks ago): longest untouched first.
    touched_bistro = (world.today - world.monday).days < 3
    names = [a["customer_name"] for a in world.get("manager", "stale-accounts", days=3)["accounts"]]
    assert names == (["Acme Diner"] if touched_bistro else ["Acme Diner", "Acme Bistro"])
    # Principal A's touches only: the Grill's shared one no longer counts.
    by_principal = world.get("admin", "stale-accounts", principal=world.firm.principal_a.pk)["accounts"]
    assert [a["customer_name"] for a in by_principal] == ["Acme Grill", "Acme Diner"]
    # The admin owns A3 (the Grill): their accounts are the Grill and the Bistro (A10), both touched.
    assert world.get("admin", "stale-accounts", owner=world.firm.admin.pk)["accounts"] == []
    # As of 60 days ago (window: the 30 days up to then), later touches do not exist yet: the Bistro's
    # last was the follow-ups' 200 days ago, the Grill had none; the Diner's calls (56 days before this
    # week's Monday) fall in the window only from a Friday on, else the Diner was never touched either.
    as_of = world.today - dt.timedelta(days=60)
    old = world.get("manager", "stale-accounts", date_to=as_of.isoformat())
    assert old["as_of"] == as_of.isoformat()
    diner_in_window = world.today.weekday() >= 4
    expected = [("Acme Grill", None), ("Acme Bistro", 140)]
    assert [(a["customer_name"], a["days_since_interaction"]) for a in old["accounts"]] == (
        expected if diner_in_window else [("Acme Diner", None), *expected]
    )


def test_manager_stale_opportunities_are_open_deals_without_a_stage_change_in_21_days(world: World) -> None:
    body = world.get("manager", "stale-opportunities")
    assert body["window"]["date_from"] == (world.today - dt.timedelta(days=20)).isoformat()
    a3 = world.opportunities["A3"]
    assert body["opportunities"] == [
        {
            "id": a3.pk,
            "name": "A3",
            "stage": "demo_scheduled",
            "status": "active",
            "principal": world.firm.principal_a.pk,
            "principal_name": "Acme Principal A",
            "customer": world.grill.pk,
            "customer_name": "Acme Grill",
            "owner": world.firm.admin.pk,
            "stage_changed_at": at(world.today - dt.timedelta(days=30)).isoformat().replace("+00:00", "Z"),
            "days_in_stage": 30,
            "weekly_case_volume": "8.00",
            "weighted_weekly_volume": "6.00",
            "next_action_date": None,
        }
    ]


def test_stale_opportunities_never_count_another_book_or_firm(world: World) -> None:
    admin = world.get("admin", "stale-opportunities")["opportunities"]
    assert [(o["name"], o["days_in_stage"]) for o in admin] == [("B1", 40), ("A3", 30)]
    assert (
        world.get("manager", "stale-opportunities", principal=world.firm.principal_b.pk)["opportunities"]
        == []
    )
    assert [o["name"] for o in world.get("viewer", "stale-opportunities")["opportunities"]] == ["A3"]


def test_stale_opportunities_by_days_owner_and_window(world: World) -> None:
    # A2 changed stage exactly 20 days ago: fresh within 21 days, stale within 20.
    assert [o["name"] for o in world.get("manager", "stale-opportunities", days=20)["opportunities"]] == [
        "A3",
        "A2",
    ]
    assert world.get("manager", "stale-opportunities", owner=world.firm.manager.pk)["opportunities"] == []
    since = (world.today - dt.timedelta(days=9)).isoformat()
    window = world.get("manager", "stale-opportunities", date_from=since)["opportunities"]
    assert [o["name"] for o in window] == ["A3", "A2", "A1"]


def test_stale_lists_stop_at_the_limit_and_count_them_all(world: World) -> None:
    viewer = world.get("viewer", "stale-accounts", limit=1)
    assert [a["customer_name"] for a in viewer["accounts"]] == ["Acme Grill"] and viewer["total"] == 2
    admin = world.get("admin", "stale-opportunities", limit=1)
    assert [o["name"] for o in admin["opportunities"]] == ["B1"] and admin["total"] == 2
    assert world.get("manager", "stale-opportunities", principal=world.firm.principal_b.pk)["total"] == 0
