"""A sample interaction's page: its sample (status and feedback editable) and its lines, labelled by the
products' names; refusals of the database beside the inline row."""

from __future__ import annotations

from interactions.models import Interaction
from samples.models import Sample
from tests import factories as f
from tests.admin.support import add_inline_row, form_data, form_errors, signed_in, url
from tests.conftest import Firm


def sampled(firm: Firm) -> Interaction:
    interaction = f.SampleInteractionFactory(
        tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a
    )
    f.SampleFactory(tenant=firm.tenant, interaction=interaction)
    f.SampleLineFactory(
        tenant=firm.tenant,
        interaction=interaction,
        product=f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, name="Crinkle-Cut Fries"),
    )
    return interaction


def test_the_page_shows_the_sample_and_its_lines_by_product_name(firm: Firm) -> None:
    interaction = sampled(firm)
    page = signed_in(firm.manager).get(url(Interaction, "change", interaction.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Products sampled" in html and "Crinkle-Cut Fries" in html
    assert f"{interaction.sample_lines.get().pk}:" not in html  # rows named, not numbered


def test_status_and_feedback_are_edited_on_the_interaction(firm: Firm) -> None:
    interaction = sampled(firm)
    client = signed_in(firm.manager)
    path = url(Interaction, "change", interaction.pk)
    data = form_data(client.get(path), Interaction)
    data["samples-0-status"] = "feedback_received"
    data["samples-0-feedback"] = "Chef wants a price"
    data["samples-0-sentiment"] = "positive"
    response = client.post(path, data)
    assert response.status_code == 302, form_errors(response)
    sample = Sample.objects.get(interaction=interaction)
    assert (sample.status, sample.sentiment) == ("feedback_received", "positive")
    assert sample.sent_at is not None and sample.feedback_received_at is not None


def test_a_product_of_another_principal_is_refused_beside_its_row(firm: Firm) -> None:
    interaction = sampled(firm)
    theirs = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    client = signed_in(firm.admin)
    path = url(Interaction, "change", interaction.pk)
    data = form_data(client.get(path), Interaction)
    add_inline_row(data, "sample_lines", product=str(theirs.pk), quantity="1", unit="case")
    errors = form_errors(client.post(path, data))
    assert any(
        "principal" in e for key, errs in errors.items() if key.startswith("sample_lines") for e in errs
    ), errors
    assert interaction.sample_lines.count() == 1


def test_a_status_cannot_go_back_in_the_admin_either(firm: Firm) -> None:
    interaction = sampled(firm)
    Sample.objects.filter(interaction=interaction).update(status="delivered")
    client = signed_in(firm.manager)
    path = url(Interaction, "change", interaction.pk)
    data = form_data(client.get(path), Interaction)
    data["samples-0-status"] = "requested"
    errors = form_errors(client.post(path, data))
    assert any("back" in e for errs in errors.values() for e in errs), errors


def test_a_call_has_no_sample_inlines(firm: Firm) -> None:
    call = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer)
    html = signed_in(firm.manager).get(url(Interaction, "change", call.pk)).content.decode()
    assert "Products sampled" not in html
