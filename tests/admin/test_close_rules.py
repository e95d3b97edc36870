"""A broken rule (a model constraint the database also checks, or the database's own refusal) is shown
beside the field it is about, in the form's words, not as column names above the form."""

from __future__ import annotations

from django.forms import modelform_factory
from django.utils import timezone

from crm.admin_base import labelled
from opportunities.admin import OpportunityForm
from opportunities.models import Opportunity
from organizations.models import DistributorAuthorization
from tests.admin.support import Sample, form_errors, signed_in, submit, url
from tests.conftest import Firm


def test_closing_lost_without_a_reason_shows_the_error_under_loss_reason(firm: Firm, sample: Sample) -> None:
    client = signed_in(firm.manager)
    response = submit(
        client, url(Opportunity, "change", sample.opportunity.pk), Opportunity, stage="closed_lost"
    )
    assert form_errors(response) == {
        "loss_reason": ["Loss reason is required when the opportunity is closed lost."]
    }
    html = response.content.decode()
    assert 'class="errorlist nonfield"' not in html
    assert "loss_reason is required" not in html
    row = html[html.index("field-loss_reason") - 200 : html.index('id="id_loss_reason"')]
    assert "errors" in row and "Loss reason is required when the opportunity is closed lost." in row


def test_closing_won_without_a_reason_shows_the_error_under_win_reason(firm: Firm, sample: Sample) -> None:
    client = signed_in(firm.manager)
    response = submit(
        client, url(Opportunity, "change", sample.opportunity.pk), Opportunity, stage="closed_won"
    )
    assert form_errors(response) == {
        "win_reason": ["Win reason is required when the opportunity is closed won."]
    }


def test_closing_without_a_date_is_dated_today_by_the_database(firm: Firm, sample: Sample) -> None:
    client = signed_in(firm.manager)
    path = url(Opportunity, "change", sample.opportunity.pk)
    response = submit(
        client, path, Opportunity, stage="closed_won", win_reason="Chef loved the fries", closed_on=""
    )
    assert response.status_code == 302, form_errors(response)
    sample.opportunity.refresh_from_db()
    assert sample.opportunity.stage == "closed_won" and sample.opportunity.closed_on == timezone.localdate()


def test_a_constraint_on_two_fields_is_shown_on_the_first_with_labels(firm: Firm, sample: Sample) -> None:
    client = signed_in(firm.admin)
    path = url(DistributorAuthorization, "change", sample.authorization.pk)
    response = submit(
        client, path, DistributorAuthorization, authorized_on="2026-05-01", expires_on="2026-04-01"
    )
    assert form_errors(response) == {"expires_on": ["Expires on must not be before authorized on."]}


def test_database_messages_are_told_with_the_forms_labels(firm: Firm) -> None:
    form = modelform_factory(Opportunity, form=OpportunityForm, fields="__all__")()
    assert (
        labelled(form, "weekly_case_volume must be zero or more.")
        == "Weekly case volume must be zero or more."
    )
    assert (
        labelled(form, "customer_id must be a customer or prospect")
        == "Customer must be a customer or prospect"
    )
    assert labelled(form, "closed_on is required once the opportunity is closed.") == (
        "Closed on is required once the opportunity is closed."
    )
    assert labelled(form, "expected_close_date must not be before closed_on") == (
        "Expected close date must not be before closed on"
    )
