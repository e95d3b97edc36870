"""The admin and probability following the stage (ADR 0032): the same rules as the API and raw SQL."""

from __future__ import annotations

from opportunities.models import Opportunity, StageProbability
from tests import factories as f
from tests.admin.support import form_errors, signed_in, submit, url
from tests.conftest import Firm


def test_an_opportunity_added_without_a_probability_takes_the_stages_and_its_owner_is_the_creator(
    firm: Firm,
) -> None:
    response = submit(
        signed_in(firm.manager),
        url(Opportunity, "add"),
        Opportunity,
        name="Fries at the bistro",
        principal=str(firm.principal_a.pk),
        customer=str(firm.customer.pk),
        stage="feedback_logged",
        probability="",
        owner=None,
    )
    assert response.status_code == 302, form_errors(response)
    added = Opportunity.objects.get(name="Fries at the bistro")
    assert (added.probability, added.owner_id) == (50, firm.manager.pk)


def test_a_stage_change_in_the_form_follows_unless_the_probability_is_changed_too(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    client, path = signed_in(firm.manager), url(Opportunity, "change", opportunity.pk)
    assert submit(client, path, Opportunity, stage="demo_scheduled").status_code == 302
    assert Opportunity.objects.get(pk=opportunity.pk).probability == 70
    assert submit(client, path, Opportunity, stage="initial_outreach", probability="35").status_code == 302
    assert Opportunity.objects.get(pk=opportunity.pk).probability == 35


def test_closing_with_another_probability_is_an_error_beside_the_field(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    response = submit(
        signed_in(firm.manager),
        url(Opportunity, "change", opportunity.pk),
        Opportunity,
        stage="closed_won",
        win_reason="Chef loved it",
        closed_on="2026-12-01",
        probability="80",
    )
    assert "probability" in form_errors(response)
    assert Opportunity.objects.get(pk=opportunity.pk).stage == "new_lead"


def test_an_admin_changes_a_stage_figure_and_a_manager_may_not(firm: Firm) -> None:
    figure = StageProbability.objects.get(tenant=firm.tenant, stage="initial_outreach")
    path = url(StageProbability, "change", figure.pk)
    assert submit(signed_in(firm.manager), path, StageProbability, probability="30").status_code == 403
    response = submit(signed_in(firm.admin), path, StageProbability, probability="30")
    assert response.status_code == 302, form_errors(response)
    figure.refresh_from_db()
    assert (figure.probability, figure.updated_by_id) == (30, firm.admin.pk)
