"""/opportunities/: CRUD with soft delete, change-stage, filters, search, ordering, expansion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/opportunities/"


def stage_url(opportunity_id: int) -> str:
    return f"{URL}{opportunity_id}/change-stage/"


@pytest.fixture
def opportunity(firm):
    return f.OpportunityFactory(
        tenant=firm.tenant, name="Fries at Acme Bistro", principal=firm.principal_a, customer=firm.customer,
        weekly_case_volume=Decimal("20"), probability=50,
    )  # fmt: skip


def test_create_computes_weighted_volume_and_dates_the_stage(firm, manager):
    body = ok(
        manager.post(
            URL,
            {
                "name": "Fries at Acme Bistro",
                "principal": firm.principal_a.pk,
                "customer": firm.customer.pk,
                "distributor": firm.distributor.pk,
                "owner": firm.manager.pk,
                "weekly_case_volume": "40",
                "probability": 30,
                "priority": "high",
                "expected_close_date": "2027-03-01",
            },
        ),
        201,
    )
    assert body["stage"] == "new_lead" and body["status"] == "active"
    assert body["weighted_weekly_volume"] == "12.00"
    assert body["stage_changed_at"] is not None
    assert body["closed_on"] is None
    assert body["created_by"] == firm.manager.pk


def test_retrieve_and_partial_update_recompute_weighted_volume(manager, opportunity):
    url = f"{URL}{opportunity.pk}/"
    assert ok(manager.get(url))["weighted_weekly_volume"] == "10.00"
    body = ok(manager.patch(url, {"probability": 75, "next_action": "Send samples"}))
    assert body["weighted_weekly_volume"] == "15.00" and body["next_action"] == "Send samples"
    assert body["name"] == "Fries at Acme Bistro"


def test_stage_and_weighted_volume_cannot_be_written_directly(manager, opportunity):
    body = ok(
        manager.patch(
            f"{URL}{opportunity.pk}/",
            {"weighted_weekly_volume": "999", "stage_changed_at": "2001-01-01T00:00:00Z"},
        )
    )
    assert body["weighted_weekly_volume"] == "10.00"
    assert not body["stage_changed_at"].startswith("2001")


def test_delete_is_soft_then_404_and_absent_from_list(manager, opportunity):
    url = f"{URL}{opportunity.pk}/"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert opportunity.pk not in result_ids(manager, URL)
    assert_problem(manager.post(stage_url(opportunity.pk), {"stage": "initial_outreach"}), 404)


def test_change_stage_moves_the_opportunity_and_records_next_action(manager, opportunity):
    body = ok(
        manager.post(
            stage_url(opportunity.pk),
            {
                "stage": "sample_visit_offered",
                "next_action": "Drop samples",
                "next_action_date": "2027-01-10",
            },
        )
    )
    assert body["stage"] == "sample_visit_offered"
    assert body["next_action"] == "Drop samples" and body["next_action_date"] == "2027-01-10"
    assert body["closed_on"] is None
    assert ok(manager.get(f"{URL}{opportunity.pk}/"))["stage"] == "sample_visit_offered"


def test_change_stage_to_closed_won_with_reason_dates_the_close(manager, opportunity):
    body = ok(
        manager.post(
            stage_url(opportunity.pk), {"stage": "closed_won", "win_reason": "Beat incumbent on price"}
        )
    )
    assert body["stage"] == "closed_won" and body["win_reason"] == "Beat incumbent on price"
    assert body["closed_on"] == timezone.localdate().isoformat()


def test_change_stage_to_closed_lost_keeps_a_given_close_date(manager, opportunity):
    body = ok(
        manager.post(
            stage_url(opportunity.pk),
            {"stage": "closed_lost", "loss_reason": "No menu fit", "closed_on": "2026-10-01"},
        )
    )
    assert body["closed_on"] == "2026-10-01" and body["loss_reason"] == "No menu fit"


def test_reopening_a_closed_opportunity_clears_its_close_date(manager, opportunity):
    manager.post(stage_url(opportunity.pk), {"stage": "closed_lost", "loss_reason": "Budget"})
    body = ok(manager.post(stage_url(opportunity.pk), {"stage": "feedback_logged"}))
    assert body["stage"] == "feedback_logged" and body["closed_on"] is None


def test_change_stage_records_who_changed_it_and_when(firm, manager, opportunity):
    # Every request here runs in the test's transaction, so now() cannot move: only presence is checked.
    body = ok(manager.post(stage_url(opportunity.pk), {"stage": "demo_scheduled"}))
    assert body["stage_changed_at"] is not None
    assert body["updated_by"] == firm.manager.pk


def test_change_stage_to_closed_won_without_win_reason_is_400_naming_win_reason_and_changes_nothing(
    manager, opportunity
):
    body = assert_problem(
        manager.post(stage_url(opportunity.pk), {"stage": "closed_won"}), 400, field="win_reason"
    )
    assert "win_reason" in body["detail"]
    assert ok(manager.get(f"{URL}{opportunity.pk}/"))["stage"] == "new_lead"


def test_change_stage_to_closed_lost_without_loss_reason_is_400_naming_loss_reason(manager, opportunity):
    body = assert_problem(
        manager.post(stage_url(opportunity.pk), {"stage": "closed_lost", "loss_reason": ""}),
        400,
        field="loss_reason",
    )
    assert "loss_reason" in body["detail"]
    assert ok(manager.get(f"{URL}{opportunity.pk}/"))["stage"] == "new_lead"


def test_change_stage_to_an_unknown_stage_is_400(manager, opportunity):
    assert_problem(
        manager.post(stage_url(opportunity.pk), {"stage": "won"}), 400, field="stage", code="invalid_choice"
    )
    assert_problem(manager.post(stage_url(opportunity.pk), {}), 400, field="stage", code="required")


def test_patch_to_closed_won_without_win_reason_is_400_naming_win_reason(manager, opportunity):
    assert_problem(manager.patch(f"{URL}{opportunity.pk}/", {"stage": "closed_won"}), 400, field="win_reason")


def test_patch_to_closed_lost_with_reason_is_accepted(manager, opportunity):
    body = ok(manager.patch(f"{URL}{opportunity.pk}/", {"stage": "closed_lost", "loss_reason": "Price"}))
    assert body["closed_on"] is not None


def test_patch_close_date_on_an_open_opportunity_is_400(manager, opportunity):
    assert_problem(
        manager.patch(f"{URL}{opportunity.pk}/", {"closed_on": "2026-01-01"}), 400, field="closed_on"
    )


def test_principal_cannot_change(firm, admin, opportunity):
    response = admin.patch(f"{URL}{opportunity.pk}/", {"principal": firm.principal_b.pk})
    assert_problem(response, 400, field="principal")


@pytest.fixture
def pipeline(firm):
    other_customer = f.CustomerFactory(tenant=firm.tenant, name="Harbor Grill")
    a = firm.principal_a
    today = timezone.localdate()
    return {
        "lead": f.OpportunityFactory(
            tenant=firm.tenant, name="Ketchup at Harbor Grill", principal=a, customer=other_customer,
            priority="low", status="nurturing", owner=firm.manager, next_action_date=today,
            expected_close_date=dt.date(2027, 1, 15), weekly_case_volume=Decimal("5"),
        ),
        "demo": f.OpportunityFactory(
            tenant=firm.tenant, name="Fries at Acme Bistro", principal=a, customer=firm.customer,
            stage="demo_scheduled", priority="high", distributor=firm.distributor, owner=firm.other_manager,
            next_action_date=today + dt.timedelta(days=10), expected_close_date=dt.date(2027, 6, 1),
            weekly_case_volume=Decimal("50"),
        ),
        "won": f.OpportunityFactory(
            tenant=firm.tenant, name="Oat milk at Acme Bistro", principal=a, customer=firm.customer,
            stage="closed_won", win_reason="Taste test", closed_on=dt.date(2026, 9, 1), priority="critical",
            status="stalled", weekly_case_volume=Decimal("25"),
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=demo_scheduled", {"demo"}),
        ("stage=new_lead&stage=closed_won", {"lead", "won"}),
        ("status=nurturing", {"lead"}),
        ("status=active&status=stalled", {"demo", "won"}),
        ("priority=high&priority=critical", {"demo", "won"}),
        ("is_open=true", {"lead", "demo"}),
        ("is_open=false", {"won"}),
        ("is_open=TRUE", {"lead", "demo"}),
        ("is_open=1", {"lead", "demo"}),
        ("is_open=False", {"won"}),
        ("is_open=0", {"won"}),
        ("expected_close_after=2027-02-01", {"demo"}),
        ("expected_close_before=2027-02-01", {"lead"}),
        ("closed_after=2026-08-01&closed_before=2026-09-30", {"won"}),
    ],
)
def test_filters_narrow_the_list(manager, pipeline, query, expected):
    assert set(result_ids(manager, f"{URL}?{query}")) == {pipeline[n].pk for n in expected}


def test_filter_by_customer_distributor_and_owner(firm, manager, pipeline):
    assert set(result_ids(manager, f"{URL}?customer={firm.customer.pk}")) == {
        pipeline["demo"].pk,
        pipeline["won"].pk,
    }
    assert result_ids(manager, f"{URL}?distributor={firm.distributor.pk}") == [pipeline["demo"].pk]
    assert result_ids(manager, f"{URL}?owner={firm.manager.pk}") == [pipeline["lead"].pk]


def test_filter_by_principal(firm, admin, pipeline):
    other = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b, customer=firm.customer)
    assert result_ids(admin, f"{URL}?principal={firm.principal_b.pk}") == [other.pk]
    assert set(result_ids(admin, f"{URL}?principal={firm.principal_a.pk}")) == {
        o.pk for o in pipeline.values()
    }


def test_next_action_due_lists_actions_due_by_the_date(manager, pipeline):
    today = timezone.localdate().isoformat()
    assert result_ids(manager, f"{URL}?next_action_due={today}") == [pipeline["lead"].pk]


@pytest.mark.parametrize(
    ("search", "expected"),
    [("ketch", {"lead"}), ("acme", {"demo", "won"}), ("fries acme", {"demo"}), ("harb gri", {"lead"})],
)
def test_search_matches_name_prefixes(manager, pipeline, search, expected):
    assert set(result_ids(manager, f"{URL}?search={search}")) == {pipeline[n].pk for n in expected}


def test_ordering_by_weekly_case_volume_and_name(manager, pipeline):
    rows = ok(manager.get(f"{URL}?ordering=-weekly_case_volume"))["results"]
    assert [r["id"] for r in rows] == [pipeline["demo"].pk, pipeline["won"].pk, pipeline["lead"].pk]
    names = [r["name"] for r in ok(manager.get(f"{URL}?ordering=name"))["results"]]
    assert names == sorted(names)


def test_expand_embeds_principal_customer_distributor_and_owner(firm, manager, pipeline):
    row = ok(manager.get(f"{URL}{pipeline['demo'].pk}/?expand=principal,customer,distributor,owner"))
    assert row["principal"] == {"id": firm.principal_a.pk, "name": firm.principal_a.name, "type": "principal"}
    assert row["customer"] == {"id": firm.customer.pk, "name": firm.customer.name, "type": "customer"}
    assert row["distributor"]["name"] == firm.distributor.name
    assert row["owner"]["id"] == firm.other_manager.pk
    rows = ok(manager.get(f"{URL}?expand=principal,customer"))["results"]
    assert {r["customer"]["name"] for r in rows} == {firm.customer.name, "Harbor Grill"}
    assert all(r["principal"]["id"] == firm.principal_a.pk for r in rows)
    assert all(isinstance(r["distributor"], int | None) for r in rows)
