"""opportunities.services called as plain functions, as a user (runtime role, RLS applies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection

from crm import rls
from crm.models import HistoryEntry
from opportunities.models import Opportunity
from opportunities.services import opportunity_change_stage
from tests import factories as f
from tests.conftest import Firm
from tests.reports.support import backdate

OLD = dt.datetime(2024, 1, 2, 9, tzinfo=dt.UTC)


def stored(opportunity: Opportunity) -> Opportunity:
    return Opportunity.objects.get(pk=opportunity.pk)


def db_today() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (now() AT TIME ZONE 'UTC')::date")
        return cursor.fetchone()[0]  # type: ignore[index]


@pytest.fixture
def deal(firm: Firm) -> Opportunity:
    deal = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer, next_action="Send samples"
    )
    backdate(Opportunity, [deal], stage_changed_at=OLD)  # a stage set long ago
    return deal


def test_changing_the_stage_writes_it_and_the_database_dates_the_change(
    firm: Firm, deal: Opportunity
) -> None:
    with rls.acting_as(firm.manager.pk):
        returned = opportunity_change_stage(opportunity=deal, stage="sample_visit_offered")
    assert returned is deal
    after = stored(deal)
    assert after.stage == "sample_visit_offered"
    assert after.stage_changed_at is not None and after.stage_changed_at > OLD
    assert after.closed_on is None
    assert after.next_action == "Send samples"  # not given: left as it was


def test_the_fields_that_go_with_a_change_are_written_in_one_update_by_the_caller(
    firm: Firm, deal: Opportunity, django_assert_num_queries: Any
) -> None:
    follow_up = dt.date(2026, 3, 2)
    # SAVEPOINT, the UPDATE, RELEASE: no read before or after.
    with rls.acting_as(firm.manager.pk), django_assert_num_queries(3):
        opportunity_change_stage(
            opportunity=deal,
            stage="demo_scheduled",
            next_action="Chef tasting",
            next_action_date=follow_up,
        )
    after = stored(deal)
    assert (after.stage, after.next_action, after.next_action_date) == (
        "demo_scheduled",
        "Chef tasting",
        follow_up,
    )
    (entry,) = HistoryEntry.objects.filter(table_name="opportunity", row_id=deal.pk, operation="update")
    assert entry.actor_id == firm.manager.pk
    assert entry.changes["stage"] == ["new_lead", "demo_scheduled"]
    assert entry.changes["next_action"] == ["Send samples", "Chef tasting"]


def test_closing_won_writes_the_reason_and_the_database_closes_it_today(
    firm: Firm, deal: Opportunity
) -> None:
    with rls.acting_as(firm.manager.pk):
        opportunity_change_stage(opportunity=deal, stage="closed_won", win_reason="Chef loved the fries")
    after = stored(deal)
    assert (after.stage, after.win_reason, after.closed_on) == (
        "closed_won",
        "Chef loved the fries",
        db_today(),
    )


def test_closing_lost_keeps_the_close_date_given(firm: Firm, deal: Opportunity) -> None:
    closed = dt.date(2026, 2, 3)
    with rls.acting_as(firm.manager.pk):
        opportunity_change_stage(opportunity=deal, stage="closed_lost", loss_reason="Price", closed_on=closed)
    after = stored(deal)
    assert (after.stage, after.loss_reason, after.closed_on) == ("closed_lost", "Price", closed)


@pytest.mark.parametrize(
    ("stage", "constraint"),
    [("closed_won", "opportunity_win_reason_when_won"), ("closed_lost", "opportunity_loss_reason_when_lost")],
)
def test_closing_without_its_reason_is_refused_and_nothing_is_written(
    firm: Firm, deal: Opportunity, stage: str, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint), rls.acting_as(firm.manager.pk):
        opportunity_change_stage(opportunity=deal, stage=stage, next_action="Call back")
    after = stored(deal)
    assert (after.stage, after.next_action, after.stage_changed_at) == ("new_lead", "Send samples", OLD)


def test_reopening_a_closed_opportunity_clears_its_close_date(firm: Firm, deal: Opportunity) -> None:
    with rls.acting_as(firm.manager.pk):
        opportunity_change_stage(opportunity=deal, stage="closed_lost", loss_reason="Price")
        opportunity_change_stage(opportunity=deal, stage="feedback_logged")
    after = stored(deal)
    assert (after.stage, after.closed_on) == ("feedback_logged", None)
    assert after.loss_reason == "Price"  # kept: only the stage and what is given change


@pytest.mark.parametrize("persona", ["other_manager", "viewer"])
def test_a_user_who_may_not_write_the_deal_changes_nothing(
    firm: Firm, deal: Opportunity, persona: str
) -> None:
    """The other book's manager does not see the deal, the viewer sees it read-only: the update matches no
    row. The service does not say so (the view found the deal, or answered 404, before calling it)."""
    with rls.acting_as(getattr(firm, persona).pk):
        opportunity_change_stage(opportunity=deal, stage="closed_lost", loss_reason="Price")
    after = stored(deal)
    assert (after.stage, after.stage_changed_at) == ("new_lead", OLD)
    assert not HistoryEntry.objects.filter(
        table_name="opportunity", row_id=deal.pk, operation="update"
    ).exists()


def test_another_firms_deal_is_left_as_it_was(firm: Firm, other_firm: Firm) -> None:
    theirs = f.OpportunityFactory(
        tenant=other_firm.tenant, principal=other_firm.principal_a, customer=other_firm.customer
    )
    with rls.acting_as(firm.admin.pk):
        opportunity_change_stage(opportunity=theirs, stage="initial_outreach")
    assert stored(theirs).stage == "new_lead"
