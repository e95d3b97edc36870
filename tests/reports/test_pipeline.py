"""Pipeline: open opportunities per principal × stage, checked against the hand-built world.

Open in principal A (the manager's book): A1 new_lead 10 cases at 50% (10 days in stage), A2 new_lead
20 at 25% (20 days), A3 demo_scheduled 8 at 75% (30 days, owned by the admin). Principal B (the other
manager's): B1 initial_outreach 100 at 10% (40 days), B3 new_lead 7 at 10% (5 days, owned by the manager).
A7 (1000 cases) is soft-deleted; closed ones and the rival firm's never count.
"""

from __future__ import annotations

import datetime as dt

from tests.reports.support import World


def line(open_opportunities: int, volume: str, weighted: str, days: str | None) -> dict:
    return {
        "open_opportunities": open_opportunities,
        "weekly_case_volume": volume,
        "weighted_weekly_volume": weighted,
        "average_days_in_stage": days,
    }


def test_manager_pipeline_counts_their_book_per_stage_with_totals(world: World) -> None:
    a = world.firm.principal_a
    body = world.get("manager", "pipeline")
    assert body["as_of"] == world.today.isoformat()
    assert body["rows"] == [
        {
            "principal": a.pk,
            "principal_name": a.name,
            "stage": "new_lead",
            **line(2, "30.00", "10.00", "15.0"),
        },
        {
            "principal": a.pk,
            "principal_name": a.name,
            "stage": "demo_scheduled",
            **line(1, "8.00", "6.00", "30.0"),
        },
    ]
    assert body["principals"] == [
        {"principal": a.pk, "principal_name": a.name, **line(3, "38.00", "16.00", "20.0")}
    ]
    assert body["total"] == line(3, "38.00", "16.00", "20.0")


def test_admin_pipeline_covers_every_principal_of_the_firm_and_no_other_firm(world: World) -> None:
    b = world.firm.principal_b
    body = world.get("admin", "pipeline")
    assert [(r["principal_name"], r["stage"]) for r in body["rows"]] == [
        ("Acme Principal A", "new_lead"),
        ("Acme Principal A", "demo_scheduled"),
        ("Acme Principal B", "new_lead"),
        ("Acme Principal B", "initial_outreach"),
    ]
    assert body["principals"][1] == {
        "principal": b.pk,
        "principal_name": b.name,
        **line(2, "107.00", "10.70", "22.5"),
    }
    assert body["total"] == line(5, "145.00", "26.70", "21.0")


def test_manager_pipeline_never_counts_another_book_or_firm(world: World) -> None:
    # B3 is the manager's own opportunity, but principal B is not in their book: RLS leaves it out even
    # when asked for by owner or by principal.
    mine = world.get("manager", "pipeline", owner=world.firm.manager.pk)
    assert mine["total"] == line(2, "30.00", "10.00", "15.0")
    assert world.get("manager", "pipeline", principal=world.firm.principal_b.pk)["rows"] == []
    assert world.get("manager", "pipeline", principal=world.rival.principal_a.pk)["total"] == line(
        0, "0.00", "0.00", None
    )


def test_viewer_pipeline_is_their_book(world: World) -> None:
    assert world.get("viewer", "pipeline")["total"] == line(3, "38.00", "16.00", "20.0")


def test_pipeline_filters_by_owner_principal_and_creation_date(world: World) -> None:
    by_owner = world.get("admin", "pipeline", owner=world.firm.manager.pk)
    assert [(r["principal_name"], r["stage"], r["open_opportunities"]) for r in by_owner["rows"]] == [
        ("Acme Principal A", "new_lead", 2),
        ("Acme Principal B", "new_lead", 1),
    ]
    assert by_owner["total"] == line(3, "37.00", "10.70", "11.7")
    assert world.get("admin", "pipeline", principal=world.firm.principal_a.pk)["total"] == line(
        3, "38.00", "16.00", "20.0"
    )
    recent = world.get("manager", "pipeline", date_from=(world.today - dt.timedelta(days=15)).isoformat())
    assert recent["total"] == line(1, "10.00", "5.00", "10.0")  # only A1 was created since
    older = world.get("manager", "pipeline", date_to=(world.today - dt.timedelta(days=15)).isoformat())
    assert older["total"] == line(2, "28.00", "11.00", "25.0")  # A2 and A3
