"""Win/loss: closed won and lost per principal per quarter (the last four quarters by default), reasons.

Principal A: this quarter A4 (40 cases, "Price"), A9 (6, "Price") and A10 (4, " Better yield ", the
admin's) won; last quarter A5 (5 cases) lost to an "Incumbent distributor"; A6 (12, "Price") won five
quarters back, outside the default period. Principal B: B2 (50, "Taste") won this quarter.
"""

from __future__ import annotations

import datetime as dt

from reports.selectors import quarter_label, quarter_start, quarters_back
from tests.reports.support import World


def test_manager_win_loss_per_quarter_with_reasons(world: World) -> None:
    a = world.firm.principal_a
    this_quarter = quarter_start(world.today)
    last_quarter = quarters_back(world.today, 1)
    body = world.get("manager", "win-loss")
    assert body["period"] == {
        "date_from": quarters_back(world.today, 3).isoformat(),
        "date_to": world.today.isoformat(),
    }
    head = {"principal": a.pk, "principal_name": a.name}
    assert body["rows"] == [
        {
            **head,
            "quarter": quarter_label(last_quarter),
            "quarter_start": last_quarter.isoformat(),
            "won": 0,
            "lost": 1,
            "win_rate": "0.0",
            "won_weekly_case_volume": "0.00",
            "lost_weekly_case_volume": "5.00",
            "win_reasons": [],
            "loss_reasons": [{"reason": "Incumbent distributor", "opportunities": 1}],
        },
        {
            **head,
            "quarter": quarter_label(this_quarter),
            "quarter_start": this_quarter.isoformat(),
            "won": 3,
            "lost": 0,
            "win_rate": "100.0",
            "won_weekly_case_volume": "50.00",
            "lost_weekly_case_volume": "0.00",
            "win_reasons": [
                {"reason": "Price", "opportunities": 2},
                {"reason": "Better yield", "opportunities": 1},
            ],
            "loss_reasons": [],
        },
    ]
    total = {
        "won": 3,
        "lost": 1,
        "win_rate": "75.0",
        "won_weekly_case_volume": "50.00",
        "lost_weekly_case_volume": "5.00",
        "win_reasons": [
            {"reason": "Price", "opportunities": 2},
            {"reason": "Better yield", "opportunities": 1},
        ],
        "loss_reasons": [{"reason": "Incumbent distributor", "opportunities": 1}],
    }
    assert body["principals"] == [{**head, **total}]
    assert body["total"] == total


def test_win_loss_never_counts_another_book_or_firm(world: World) -> None:
    admin = world.get("admin", "win-loss")
    assert [p["principal_name"] for p in admin["principals"]] == ["Acme Principal A", "Acme Principal B"]
    assert (admin["total"]["won"], admin["total"]["lost"], admin["total"]["win_rate"]) == (4, 1, "80.0")
    assert admin["total"]["won_weekly_case_volume"] == "100.00"
    assert admin["total"]["win_reasons"] == [
        {"reason": "Price", "opportunities": 2},
        {"reason": "Better yield", "opportunities": 1},
        {"reason": "Taste", "opportunities": 1},
    ]
    manager = world.get("manager", "win-loss", principal=world.firm.principal_b.pk)
    assert manager["rows"] == [] and manager["total"]["won"] == 0 and manager["total"]["win_rate"] is None
    assert world.get("viewer", "win-loss")["total"]["won"] == 3


def test_win_loss_filters_by_owner_and_period(world: World) -> None:
    mine = world.get("manager", "win-loss", owner=world.firm.manager.pk)["total"]
    assert (mine["won"], mine["lost"], mine["won_weekly_case_volume"]) == (2, 1, "46.00")
    five_quarters = world.get("manager", "win-loss", date_from=quarters_back(world.today, 4).isoformat())
    first = five_quarters["rows"][0]
    assert (first["quarter"], first["won"], first["won_weekly_case_volume"]) == (
        quarter_label(quarters_back(world.today, 4)),
        1,
        "12.00",
    )
    assert five_quarters["total"]["win_reasons"][0] == {"reason": "Price", "opportunities": 3}
    last_quarter_only = world.get(
        "manager",
        "win-loss",
        date_from=quarters_back(world.today, 1).isoformat(),
        date_to=(quarter_start(world.today) - dt.timedelta(days=1)).isoformat(),
    )
    assert (last_quarter_only["total"]["won"], last_quarter_only["total"]["lost"]) == (0, 1)
