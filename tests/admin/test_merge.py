"""Merging through the admin (ADR 0029): an action on selected organizations or contacts, a confirmation
page choosing the survivor, then the API's own service; refusals come back as messages, never a 500."""

from __future__ import annotations

from django.contrib.messages import get_messages

from contacts.models import Contact
from interactions.models import Interaction
from organizations.models import Organization
from tests import factories as f
from tests.admin.support import signed_in, url
from tests.conftest import Firm


def test_an_admin_merges_selected_organizations_into_the_one_chosen(firm: Firm) -> None:
    survivor = f.DistributorFactory(tenant=firm.tenant, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=firm.tenant, name="SYSCO – Boston")
    call = f.InteractionFactory(tenant=firm.tenant, organization=merged)
    chosen = [str(survivor.pk), str(merged.pk)]
    client = signed_in(firm.manager)

    confirm = client.post(url(Organization), {"action": "merge_selected", "_selected_action": chosen})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Choose the organization that stays" in page and "SYSCO – Boston" in page

    response = client.post(
        url(Organization),
        {
            "action": "merge_selected",
            "_selected_action": chosen,
            "confirm": "yes",
            "survivor": str(survivor.pk),
        },
    )
    assert response.status_code == 302
    assert Organization.objects.get(pk=merged.pk).merged_into_id == survivor.pk
    assert Interaction.objects.get(pk=call.pk).organization_id == survivor.pk


def test_a_refused_merge_is_a_message_and_writes_nothing(firm: Firm) -> None:
    chosen = [str(firm.customer.pk), str(firm.distributor.pk)]
    client = signed_in(firm.admin)
    response = client.post(
        url(Organization),
        {"action": "merge_selected", "_selected_action": chosen, "confirm": "yes", "survivor": chosen[0]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("Not merged" in str(m) for m in get_messages(response.wsgi_request))
    assert Organization.objects.get(pk=firm.distributor.pk).deleted_at is None


def test_contacts_merge_from_their_list(firm: Firm) -> None:
    survivor = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    merged = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    chosen = [str(survivor.pk), str(merged.pk)]
    response = signed_in(firm.manager).post(
        url(Contact),
        {
            "action": "merge_selected",
            "_selected_action": chosen,
            "confirm": "yes",
            "survivor": str(survivor.pk),
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get(pk=merged.pk).merged_into_id == survivor.pk


def test_viewers_have_no_merge(firm: Firm) -> None:
    a = f.CustomerFactory(tenant=firm.tenant, name="Corner Deli")
    b = f.CustomerFactory(tenant=firm.tenant, name="Corner – Deli")
    signed_in(firm.viewer).post(
        url(Organization),
        {"action": "merge_selected", "_selected_action": [a.pk, b.pk], "confirm": "yes", "survivor": a.pk},
    )
    assert Organization.objects.get(pk=b.pk).deleted_at is None
