"""Probability follows the stage, the owner defaults to the creator, and a firm's stage probabilities are
kept: in raw SQL, as the runtime role (ADR 0032)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import ProgrammingError

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, backdate, insert, refused, run, select, update, value

pytestmark = pytest.mark.django_db


def placement(firm: Firm, **values: Any) -> dict[str, Any]:
    return {"principal_id": firm.principal_a.pk, "customer_id": firm.customer.pk, **values}


def new_lead(firm: Firm, **values: Any) -> int:
    """An opportunity inserted without a probability (NULL: follow the stage)."""
    return insert(firm.manager, "opportunity", **placement(firm, **{"probability": None, **values}))


def figures(firm: Firm) -> dict[str, int]:
    return dict(
        run(None, "SELECT stage, probability FROM stage_probability WHERE tenant_id = %s", [firm.tenant.pk])
    )


def test_a_new_firm_gets_a_row_per_open_stage_with_the_defaults(firm: Firm) -> None:
    assert figures(firm) == {
        "new_lead": 10,
        "initial_outreach": 20,
        "sample_visit_offered": 40,
        "feedback_logged": 50,
        "demo_scheduled": 70,
    }


def test_an_insert_without_probability_takes_the_firms_figure_for_its_stage(firm: Firm) -> None:
    assert value("opportunity", new_lead(firm), "probability") == 10
    assert value("opportunity", new_lead(firm, stage="feedback_logged"), "probability") == 50
    run(firm.admin, "UPDATE stage_probability SET probability = 45 WHERE stage = 'feedback_logged'")
    assert value("opportunity", new_lead(firm, stage="feedback_logged"), "probability") == 45


def test_an_insert_with_a_probability_keeps_it(firm: Firm) -> None:
    assert value("opportunity", new_lead(firm, probability=35), "probability") == 35


def test_a_stage_change_follows_unless_the_same_statement_changes_probability(firm: Firm) -> None:
    pk = new_lead(firm)
    update(firm.manager, "opportunity", pk, stage="initial_outreach")
    assert value("opportunity", pk, "probability") == 20
    update(firm.manager, "opportunity", pk, stage="sample_visit_offered", probability=55)
    assert value("opportunity", pk, "probability") == 55
    # Set to the value it already had: cannot be told from leaving it alone, so it follows.
    update(firm.manager, "opportunity", pk, stage="feedback_logged", probability=55)
    assert value("opportunity", pk, "probability") == 50


def test_an_update_without_a_stage_change_keeps_a_hand_set_probability(firm: Firm) -> None:
    pk = new_lead(firm, stage="demo_scheduled", probability=90)
    update(firm.manager, "opportunity", pk, notes="Tasting on Friday")
    assert value("opportunity", pk, "probability") == 90
    update(firm.manager, "opportunity", pk, probability=None)  # NULL: back to the stage's figure
    assert value("opportunity", pk, "probability") == 70


def test_closed_won_is_100_and_closed_lost_0_and_weighted_volume_follows(firm: Firm) -> None:
    pk = new_lead(firm, weekly_case_volume=12.5)
    update(firm.manager, "opportunity", pk, stage="closed_won", win_reason="Won on taste")
    assert select("opportunity", pk, "probability", "weighted_weekly_volume") == (100, 12.5)
    update(firm.manager, "opportunity", pk, stage="closed_lost", loss_reason="Price")
    assert select("opportunity", pk, "probability", "weighted_weekly_volume") == (0, 0)


@pytest.mark.parametrize(
    ("stage", "reason", "wrong"), [("closed_won", "win_reason", 90), ("closed_lost", "loss_reason", 15)]
)
def test_a_closed_stage_refuses_another_probability(firm: Firm, stage: str, reason: str, wrong: int) -> None:
    refused(
        lambda: new_lead(firm, stage=stage, probability=wrong, **{reason: "Because"}),
        CHECK,
        column="probability",
        message="probability must be",
    )
    pk = new_lead(firm, stage=stage, **{reason: "Because"})
    refused(lambda: update(firm.manager, "opportunity", pk, probability=wrong), CHECK, column="probability")
    refused(
        lambda: update(
            firm.manager, "opportunity", new_lead(firm), stage=stage, probability=wrong, **{reason: "x"}
        ),
        CHECK,
        column="probability",
    )


def test_a_legacy_closed_row_is_left_alone_until_written_then_takes_its_fixed_figure(firm: Firm) -> None:
    pk = new_lead(firm, stage="closed_won", win_reason="Won")
    backdate("opportunity", pk, probability=10)  # as before the trigger kept it
    assert value("opportunity", pk, "probability") == 10
    update(firm.manager, "opportunity", pk, notes="Reordered")
    assert value("opportunity", pk, "probability") == 100


def test_a_missing_firm_row_falls_back_to_the_default(firm: Firm) -> None:
    run(
        None,
        "DELETE FROM stage_probability WHERE tenant_id = %s AND stage = 'demo_scheduled'",
        [firm.tenant.pk],
    )
    assert value("opportunity", new_lead(firm, stage="demo_scheduled"), "probability") == 70


def test_the_owner_defaults_to_the_inserting_member(firm: Firm) -> None:
    assert value("opportunity", new_lead(firm), "owner_id") == firm.manager.pk
    assert value("opportunity", new_lead(firm, owner_id=firm.admin.pk), "owner_id") == firm.admin.pk
    assert (
        value("opportunity", insert(firm.admin, "opportunity", **placement(firm)), "owner_id")
        == firm.admin.pk
    )


def test_the_owner_is_not_defaulted_on_update(firm: Firm) -> None:
    pk = new_lead(firm)
    update(firm.manager, "opportunity", pk, owner_id=None)
    assert value("opportunity", pk, "owner_id") is None


def test_an_insert_outside_a_request_has_no_owner(firm: Firm) -> None:
    assert (
        value(
            "opportunity",
            insert(None, "opportunity", **placement(firm, tenant_id=firm.tenant.pk)),
            "owner_id",
        )
        is None
    )


def test_only_the_firms_admins_change_its_figures_and_no_member_adds_or_removes_one(
    firm: Firm, other_firm: Firm
) -> None:
    for member in (firm.manager, firm.viewer):
        assert run(member, "UPDATE stage_probability SET probability = 1 RETURNING id") == []
    assert (
        run(
            firm.admin,
            "UPDATE stage_probability SET probability = 1 WHERE tenant_id = %s RETURNING id",
            [other_firm.tenant.pk],
        )
        == []
    )
    assert len(run(firm.admin, "UPDATE stage_probability SET probability = 15 RETURNING id")) == 5
    assert set(figures(other_firm).values()) != {15}
    with pytest.raises(ProgrammingError):
        run(firm.admin, "DELETE FROM stage_probability")
    with pytest.raises(ProgrammingError):
        run(
            firm.admin,
            "INSERT INTO stage_probability (tenant_id, stage, probability) VALUES (%s, 'new_lead', 5)",
            [firm.tenant.pk],
        )


def test_a_figure_is_held_to_0_100_and_to_its_firm_and_stage(firm: Firm) -> None:
    refused(
        lambda: run(firm.admin, "UPDATE stage_probability SET probability = 101"),
        CHECK,
        constraint="stage_probability_range",
    )
    refused(
        lambda: run(firm.admin, "UPDATE stage_probability SET stage = 'closed_won' WHERE stage = 'new_lead'"),
        CHECK,
    )
    refused(
        lambda: run(
            None,
            "INSERT INTO stage_probability (tenant_id, stage, probability) VALUES (%s, 'closed_won', 100)",
            [f.TenantFactory().pk],
        ),
        CHECK,
        constraint="stage_probability_open_stage",
    )


def test_a_change_is_stamped_with_who_and_when(firm: Firm) -> None:
    run(firm.admin, "UPDATE stage_probability SET probability = 12 WHERE stage = 'new_lead'")
    (who,) = run(
        None,
        "SELECT updated_by_id FROM stage_probability WHERE tenant_id = %s AND stage = 'new_lead'",
        [firm.tenant.pk],
    )[0]
    assert who == firm.admin.pk
