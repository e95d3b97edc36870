"""Follow-ups: the requesting user's open follow-ups due by the day, and their open opportunities whose
next action date has passed, oldest first.

The manager's: F1 (principal A, due 3 days ago), F2 (shared, due today); F3 is done, F4 due in two days,
F5 another user's, F7 soft-deleted, and F6 is principal B's (outside the book, though the manager logged
it). Opportunities: A1's next action was 2 days ago; A2's is today (not passed), A4 is closed, and B3
(4 days ago, the manager's) is principal B's.
"""

from __future__ import annotations

import datetime as dt

from tests.reports.support import World


def test_manager_follow_ups_are_theirs_due_and_open_oldest_first(world: World) -> None:
    body = world.get("manager", "follow-ups")
    assert body["user"] == world.firm.manager.pk
    f1, f2 = world.interactions["F1"], world.interactions["F2"]
    assert [(i["id"], i["days_overdue"]) for i in body["interactions"]] == [(f1.pk, 3), (f2.pk, 0)]
    first = body["interactions"][0]
    assert first["follow_up_on"] == (world.today - dt.timedelta(days=3)).isoformat()
    assert (first["organization_name"], first["principal_name"], first["type"]) == (
        "Acme Bistro",
        "Acme Principal A",
        "call",
    )
    assert body["interactions"][1]["principal"] is None
    a1 = world.opportunities["A1"]
    assert body["opportunities"] == [
        {
            "kind": "opportunity",
            "id": a1.pk,
            "name": "A1",
            "stage": "new_lead",
            "status": "active",
            "next_action": "Send samples",
            "next_action_date": (world.today - dt.timedelta(days=2)).isoformat(),
            "days_overdue": 2,
            "customer": world.bistro.pk,
            "customer_name": "Acme Bistro",
            "principal": world.firm.principal_a.pk,
            "principal_name": "Acme Principal A",
            "weekly_case_volume": "10.00",
        }
    ]


def test_follow_ups_never_include_another_book_or_firm(world: World) -> None:
    # The admin sees the manager's follow-ups in principal B too; the manager does not.
    admin = world.get("admin", "follow-ups", owner=world.firm.manager.pk)
    keys = {v.pk: k for k, v in world.interactions.items()}
    assert [keys[i["id"]] for i in admin["interactions"]] == ["F6", "F1", "F2"]
    assert [o["name"] for o in admin["opportunities"]] == ["B3", "A1"]
    manager = world.get("manager", "follow-ups", principal=world.firm.principal_b.pk)
    assert manager["interactions"] == [] and manager["opportunities"] == []
    rival = world.get("manager", "follow-ups", owner=world.rival.manager.pk)
    assert rival["interactions"] == [] and rival["opportunities"] == []


def test_follow_ups_default_to_the_requesting_user(world: World) -> None:
    assert world.get("admin", "follow-ups")["interactions"] == []
    # The other manager's F5 is about principal A, outside their own book: only the admin sees it.
    assert world.get("other_manager", "follow-ups")["interactions"] == []
    admin = world.get("admin", "follow-ups", owner=world.firm.other_manager.pk)
    assert [i["id"] for i in admin["interactions"]] == [world.interactions["F5"].pk]


def test_follow_ups_as_of_a_later_day_and_from_a_day(world: World) -> None:
    later = world.get("manager", "follow-ups", date_to=(world.today + dt.timedelta(days=2)).isoformat())
    keys = {v.pk: k for k, v in world.interactions.items()}
    assert [(keys[i["id"]], i["days_overdue"]) for i in later["interactions"]] == [
        ("F1", 5),
        ("F2", 2),
        ("F4", 0),
    ]
    assert [(o["name"], o["days_overdue"]) for o in later["opportunities"]] == [("A1", 4), ("A2", 2)]
    recent = world.get("manager", "follow-ups", date_from=(world.today - dt.timedelta(days=1)).isoformat())
    assert [keys[i["id"]] for i in recent["interactions"]] == ["F2"]
    assert recent["opportunities"] == []


def test_follow_up_lists_stop_at_the_limit_and_count_them_all(world: World) -> None:
    body = world.get("admin", "follow-ups", owner=world.firm.manager.pk, limit=1)
    assert [i["id"] for i in body["interactions"]] == [world.interactions["F6"].pk]
    assert (body["interactions_total"], body["opportunities_total"]) == (3, 2)
    assert [o["name"] for o in body["opportunities"]] == ["B3"]
    manager = world.get("manager", "follow-ups")
    assert (manager["interactions_total"], manager["opportunities_total"]) == (2, 1)
