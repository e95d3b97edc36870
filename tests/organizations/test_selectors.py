"""organizations.selectors called as plain functions, as a user (runtime role, RLS applies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from crm import rls
from opportunities.services import opportunity_change_stage
from organizations.selectors import TimelineEvent, organization_timeline
from tests import factories as f
from tests.conftest import Firm

LONG_AGO = dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC)


def kinds(events: list[TimelineEvent]) -> list[tuple[str, int]]:
    return [(event.kind, event.id) for event in events]


def test_the_timeline_is_the_organizations_events_of_every_kind_newest_first_in_one_query(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t = firm.tenant
    call = f.InteractionFactory(
        tenant=t, organization=firm.customer, occurred_at=LONG_AGO, user=firm.manager, sentiment="positive"
    )
    contact = f.ContactFactory(tenant=t, organization=firm.customer, first_name="Ana", last_name="Ruiz")
    deal = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    f.InteractionFactory(tenant=t, organization=firm.distributor)  # another organization's
    with rls.acting_as(firm.manager.pk):
        opportunity_change_stage(opportunity=deal, stage="initial_outreach")
        with django_assert_num_queries(1):
            events = organization_timeline(organization_id=firm.customer.pk)

    # The rows written in this test share one transaction time: ties go by kind, then id, descending.
    assert [event.kind for event in events] == [
        "stage_change",
        "opportunity_added",
        "contact_added",
        "interaction",
    ]
    stage_change, added, contact_added, interaction = events
    assert stage_change.title == deal.name
    assert stage_change.actor == firm.manager.pk
    assert stage_change.detail == {"opportunity": deal.pk, "from": "new_lead", "to": "initial_outreach"}
    # The deal as it is now, not as it was added.
    assert (added.id, added.detail["stage"], added.detail["principal"]) == (
        deal.pk,
        "initial_outreach",
        firm.principal_a.pk,
    )
    assert (contact_added.id, contact_added.title) == (contact.pk, "Ana Ruiz")
    assert (interaction.id, interaction.at, interaction.actor) == (call.pk, LONG_AGO, firm.manager.pk)
    assert interaction.detail["sentiment"] == "positive"
    assert interaction.position == (LONG_AGO.isoformat(), "interaction", call.pk)


def test_timeline_pages_continue_strictly_after_the_previous_pages_last_position(firm: Firm) -> None:
    t = firm.tenant
    calls = [
        f.InteractionFactory(
            tenant=t, organization=firm.customer, occurred_at=LONG_AGO + dt.timedelta(days=d)
        )
        for d in range(3)
    ]
    # Two at the very same instant: the position's kind and id keep them apart.
    twins = f.InteractionFactory.create_batch(2, tenant=t, organization=firm.customer, occurred_at=LONG_AGO)
    newest_first = [("interaction", c.pk) for c in (calls[2], calls[1])] + [
        ("interaction", c.pk) for c in sorted([calls[0], *twins], key=lambda c: -c.pk)
    ]

    pages, before = [], None
    with rls.acting_as(firm.admin.pk):
        while page := organization_timeline(organization_id=firm.customer.pk, before=before, limit=2):
            assert len(page) <= 2
            pages.append(kinds(page))
            before = page[-1].position
    assert [event for page in pages for event in page] == newest_first
    assert [len(page) for page in pages] == [2, 2, 1]


def test_the_timeline_leaves_out_soft_deleted_rows(firm: Firm) -> None:
    t = firm.tenant
    now = timezone.now()
    f.InteractionFactory(tenant=t, organization=firm.customer, deleted_at=now)
    f.ContactFactory(tenant=t, organization=firm.customer, deleted_at=now)
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer, deleted_at=now)
    with rls.acting_as(firm.admin.pk):
        assert organization_timeline(organization_id=firm.customer.pk) == []


def test_a_managers_timeline_leaves_out_the_other_books_deals_and_a_viewers_the_shared_rows(
    firm: Firm,
) -> None:
    t = firm.tenant
    mine = f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer)
    theirs = f.OpportunityFactory(tenant=t, principal=firm.principal_b, customer=firm.customer)
    shared_call = f.InteractionFactory(tenant=t, organization=firm.customer)
    their_call = f.InteractionFactory(
        tenant=t, organization=firm.customer, opportunity=theirs, principal=firm.principal_b
    )
    shared_contact = f.ContactFactory(tenant=t, organization=firm.customer)
    with rls.acting_as(firm.other_manager.pk):
        opportunity_change_stage(opportunity=theirs, stage="initial_outreach")

    with rls.acting_as(firm.manager.pk):
        seen = set(kinds(organization_timeline(organization_id=firm.customer.pk)))
    assert seen == {
        ("opportunity_added", mine.pk),
        ("interaction", shared_call.pk),
        ("contact_added", shared_contact.pk),
    }
    with rls.acting_as(firm.viewer.pk):
        assert kinds(organization_timeline(organization_id=firm.customer.pk)) == [
            ("opportunity_added", mine.pk)
        ]
    with rls.acting_as(firm.other_manager.pk):
        events = organization_timeline(organization_id=firm.customer.pk)
    their_events = [e for e in events if e.kind != "stage_change"]
    assert set(kinds(their_events)) == {
        ("opportunity_added", theirs.pk),
        ("interaction", their_call.pk),
        ("interaction", shared_call.pk),
        ("contact_added", shared_contact.pk),
    }
    assert [e.detail["opportunity"] for e in events if e.kind == "stage_change"] == [theirs.pk]


def test_another_firms_organization_has_an_empty_timeline(firm: Firm, other_firm: Firm) -> None:
    f.InteractionFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    f.ContactFactory(tenant=other_firm.tenant, organization=other_firm.customer)
    with rls.acting_as(firm.admin.pk):
        assert organization_timeline(organization_id=other_firm.customer.pk) == []
