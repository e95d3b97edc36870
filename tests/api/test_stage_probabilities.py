"""/stage-probabilities/ and probability following the stage through the API (ADR 0032)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opportunities.models import Opportunity
from tests.api.support import API, assert_problem, ok

URL = f"{API}/stage-probabilities/"
OPPORTUNITIES = f"{API}/opportunities/"
DEFAULTS = {
    "new_lead": 10,
    "initial_outreach": 20,
    "sample_visit_offered": 40,
    "feedback_logged": 50,
    "demo_scheduled": 70,
    "closed_won": 100,
    "closed_lost": 0,
}

pytestmark = pytest.mark.django_db


def create(client, firm, **values):
    body = {
        "name": "Fries at Acme Bistro",
        "principal": firm.principal_a.pk,
        "customer": firm.customer.pk,
        "weekly_case_volume": "12.50",
        **values,
    }
    return ok(client.post(OPPORTUNITIES, body, format="json"), 201)


def change_stage(client, opportunity_id, **body):
    return ok(client.post(f"{OPPORTUNITIES}{opportunity_id}/change-stage/", body, format="json"))


def test_every_member_reads_the_firms_figures_a_new_firm_starts_with_the_defaults(admin, manager, viewer):
    for client in (admin, manager, viewer):
        assert ok(client.get(URL)) == DEFAULTS


def test_an_admin_changes_some_figures_with_patch_and_all_with_put(admin):
    assert ok(admin.patch(URL, {"initial_outreach": 25}, format="json"))["initial_outreach"] == 25
    figures = {**DEFAULTS, "new_lead": 5, "demo_scheduled": 80}
    assert ok(admin.put(URL, figures, format="json")) == {**figures, "initial_outreach": 20}
    assert ok(admin.get(URL))["demo_scheduled"] == 80


def test_a_query_parameter_is_a_400_naming_it(manager):
    assert_problem(manager.get(f"{URL}?stage=new_lead"), 400, field="stage")


def test_reading_the_figures_takes_one_query(manager, django_assert_max_num_queries):
    manager.get(URL)  # the request context's queries are warmed up
    with django_assert_max_num_queries(8) as captured:
        ok(manager.get(URL))
    assert sum("stage_probability" in q["sql"] for q in captured.captured_queries) == 1


def test_put_needs_every_open_stage(admin):
    assert_problem(admin.put(URL, {"new_lead": 5}, format="json"), 400, field="initial_outreach")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"new_lead": 101}, "new_lead"),
        ({"new_lead": -1}, "new_lead"),
        ({"new_lead": "10"}, "new_lead"),
        ({"closed_won": 90}, "closed_won"),
        ({"closed_lost": 5}, "closed_lost"),
        ({"won": 90}, "won"),
    ],
)
def test_a_figure_out_of_range_a_closed_stages_other_than_fixed_or_no_stage_is_a_400(admin, body, field):
    assert_problem(admin.patch(URL, body, format="json"), 400, field=field)


def test_the_closed_stages_fixed_figures_may_be_sent_back_unchanged(admin):
    assert (
        ok(admin.patch(URL, {"closed_won": 100, "closed_lost": 0, "new_lead": 15}, format="json"))["new_lead"]
        == 15
    )


def test_managers_and_viewers_do_not_change_the_figures(manager, viewer):
    assert_problem(manager.patch(URL, {"new_lead": 15}, format="json"), 403)
    assert_problem(viewer.put(URL, DEFAULTS, format="json"), 403)


def test_another_firms_figures_are_not_touched(admin, firm, other_firm):
    from tests.conftest import client_for

    ok(admin.patch(URL, {"new_lead": 33}, format="json"))
    assert ok(client_for(other_firm.admin).get(URL))["new_lead"] == 10


def test_the_issues_story_probability_and_weighted_volume_follow_change_stage(manager, firm):
    body = create(manager, firm)
    assert (body["probability"], body["weighted_weekly_volume"]) == (10, "1.25")
    pk = body["id"]
    body = change_stage(manager, pk, stage="initial_outreach")
    assert (body["probability"], body["weighted_weekly_volume"]) == (20, "2.50")
    body = change_stage(manager, pk, stage="sample_visit_offered")
    assert (body["probability"], body["weighted_weekly_volume"]) == (40, "5.00")
    body = change_stage(manager, pk, stage="closed_won", win_reason="Loved the samples")
    assert (body["probability"], body["weighted_weekly_volume"]) == (100, "12.50")
    body = change_stage(manager, pk, stage="demo_scheduled")  # reopened
    assert body["probability"] == 70


def test_a_stage_change_takes_the_firms_changed_figures(admin, manager, firm):
    ok(admin.patch(URL, {"initial_outreach": 35}, format="json"))
    pk = create(manager, firm)["id"]
    assert change_stage(manager, pk, stage="initial_outreach")["probability"] == 35


def test_a_create_with_a_probability_keeps_it(manager, firm):
    assert create(manager, firm, probability=30)["probability"] == 30
    assert create(manager, firm, stage="demo_scheduled")["probability"] == 70


def test_a_patch_that_sets_the_probability_with_the_stage_keeps_it(manager, firm):
    pk = create(manager, firm)["id"]
    body = ok(
        manager.patch(f"{OPPORTUNITIES}{pk}/", {"stage": "feedback_logged", "probability": 65}, format="json")
    )
    assert body["probability"] == 65
    body = ok(manager.patch(f"{OPPORTUNITIES}{pk}/", {"stage": "demo_scheduled"}, format="json"))
    assert body["probability"] == 70


def test_a_patch_of_the_stage_alone_follows_an_edit_of_other_fields_keeps_the_probability(manager, firm):
    pk = create(manager, firm, probability=33)["id"]
    assert (
        ok(manager.patch(f"{OPPORTUNITIES}{pk}/", {"notes": "Chef likes it"}, format="json"))["probability"]
        == 33
    )
    assert (
        ok(manager.patch(f"{OPPORTUNITIES}{pk}/", {"stage": "initial_outreach"}, format="json"))[
            "probability"
        ]
        == 20
    )


def test_closing_with_another_probability_is_a_400_naming_probability(manager, firm):
    pk = create(manager, firm)["id"]
    response = manager.patch(
        f"{OPPORTUNITIES}{pk}/",
        {"stage": "closed_won", "win_reason": "Won", "probability": 90},
        format="json",
    )
    assert_problem(response, 400, field="probability")
    assert Opportunity.objects.get(pk=pk).stage == "new_lead"


def test_the_owner_defaults_to_the_creator_and_an_explicit_owner_is_kept(manager, firm):
    assert create(manager, firm)["owner"] == firm.manager.pk
    assert create(manager, firm, owner=firm.other_manager.pk)["owner"] == firm.other_manager.pk


def test_pipeline_weighted_figures_follow_the_stage(manager, firm):
    pk = create(manager, firm, weekly_case_volume="40")["id"]
    change_stage(manager, pk, stage="demo_scheduled")
    assert Opportunity.objects.get(pk=pk).weighted_weekly_volume == Decimal("28.00")
