"""The principal scorecard's samples, on a hand-made firm (principal A, the default period: the 28 days
up to today):

- Bistro: a sample sent 10 days ago, delivered (awaiting feedback), and another sent 2 days ago and then
  cancelled; an A deal won with it 5 days ago: sampled and won.
- Grill: sent 20 days ago, feedback 15 days ago; its A deal was won 40 days ago, before the sample: sampled,
  not won since.
- Cafe: sent 3 days ago (awaiting feedback); its won deal is principal B's: sampled, not won for A.
- Diner: a sample requested, never sent; an A deal won yesterday: not sampled.
- Deli: sent 60 days ago, delivered: awaiting feedback, but not sent in the period.
- Pub: a deleted sample sent 5 days ago, and a won A deal: nothing.
- Bistro again, principal B's sample sent 4 days ago: not A's.

So: sent 4, feedback received 1, awaiting feedback 3, sampled 3 (Bistro, Grill, Cafe), won 1 (Bistro): 33.3 %.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from reports.selectors.principal_scorecard import scorecard_report
from reports.selectors.principals import PrincipalRef
from samples.models import Sample
from tests import factories as f
from tests.api.support import ok
from tests.conftest import Firm, client_for

DAY = dt.timedelta(days=1)


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - n * DAY


def sample(
    firm: Firm, organization: Any, *, sent: int | None, principal: Any = None, **values: Any
) -> Sample:
    interaction = f.SampleInteractionFactory(
        tenant=firm.tenant, organization=organization, principal=principal or firm.principal_a
    )
    if sent is None:
        return f.SampleFactory(tenant=firm.tenant, interaction=interaction)
    values.setdefault("status", "sent")
    return f.SampleFactory(
        tenant=firm.tenant,
        interaction=interaction,
        requested_at=days_ago(sent + 1),
        sent_at=days_ago(sent),
        **values,
    )


def won(firm: Firm, customer: Any, days: int, principal: Any = None) -> None:
    f.OpportunityFactory(
        tenant=firm.tenant,
        principal=principal or firm.principal_a,
        customer=customer,
        stage="closed_won",
        win_reason="Listed on the menu",
        closed_on=(timezone.now() - days * DAY).date(),
    )


def hand_made(firm: Firm) -> None:
    t = firm.tenant
    bistro, grill, cafe, diner, deli, pub = (
        f.CustomerFactory(tenant=t, name=name) for name in ("Bistro", "Grill", "Cafe", "Diner", "Deli", "Pub")
    )
    sample(firm, bistro, sent=10, status="delivered", delivered_at=days_ago(9))
    cancelled = sample(firm, bistro, sent=2)
    Sample.objects.filter(pk=cancelled.pk).update(status="cancelled")
    won(firm, bistro, 5)
    sample(
        firm,
        grill,
        sent=20,
        status="feedback_received",
        delivered_at=days_ago(19),
        feedback_received_at=days_ago(15),
        feedback="Liked the crunch, price too high",
        sentiment="neutral",
    )
    won(firm, grill, 40)
    sample(firm, cafe, sent=3)
    won(firm, cafe, 1, principal=firm.principal_b)
    sample(firm, diner, sent=None)
    won(firm, diner, 1)
    sample(firm, deli, sent=60, status="delivered", delivered_at=days_ago(58))
    gone = sample(firm, pub, sent=5)
    Sample.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    won(firm, pub, 1)
    sample(firm, bistro, sent=4, principal=firm.principal_b)


EXPECTED = {
    "sent": 4,
    "feedback_received": 1,
    "awaiting_feedback": 3,
    "organizations_sampled": 3,
    "organizations_won": 1,
}


def test_the_selector_counts_sampling_and_sample_to_win_conversion(firm: Firm) -> None:
    hand_made(firm)
    card = scorecard_report(
        tenant_id=firm.tenant.pk,
        principal=PrincipalRef(firm.principal_a.pk, firm.principal_a.name),
        today=timezone.now().date(),
    )
    figures = card.samples
    assert {name: getattr(figures, name) for name in EXPECTED} == EXPECTED
    assert str(figures.conversion_percent) == "33.3"


def test_the_api_shows_the_figures_to_a_manager_of_the_principal(firm: Firm) -> None:
    hand_made(firm)
    body = ok(
        client_for(firm.manager).get(
            "/api/v1/reports/principal-scorecard/", {"principal": firm.principal_a.pk}
        )
    )
    assert body["samples"] == {**EXPECTED, "conversion_percent": "33.3"}


def test_a_shorter_period_counts_only_its_samples_and_none_sampled_is_no_conversion(firm: Firm) -> None:
    hand_made(firm)
    today = timezone.now().date()
    client = client_for(firm.admin)
    url = "/api/v1/reports/principal-scorecard/"
    week = ok(client.get(url, {"principal": firm.principal_a.pk, "date_from": (today - 7 * DAY).isoformat()}))
    # Bistro's cancelled sample (2 days ago) and Cafe's (3): two sent, two organizations, neither won since.
    assert week["samples"] == {
        "sent": 2,
        "feedback_received": 0,
        "awaiting_feedback": 3,
        "organizations_sampled": 2,
        "organizations_won": 0,
        "conversion_percent": "0.0",
    }
    empty = ok(client.get(url, {"principal": firm.principal_b.pk, "date_to": (today - 30 * DAY).isoformat()}))
    assert empty["samples"]["organizations_sampled"] == 0 and empty["samples"]["conversion_percent"] is None


def test_the_csv_lists_the_sample_figures(firm: Firm) -> None:
    hand_made(firm)
    response = client_for(firm.admin).get(
        "/api/v1/reports/principal-scorecard/", {"principal": firm.principal_a.pk, "format": "csv"}
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode(
        "utf-8-sig"
    )
    assert "samples,all,sent,4" in text and "samples,all,conversion_percent,33.3" in text


def test_the_dashboard_shows_the_sample_figures_of_the_chosen_principal(firm: Firm) -> None:
    from django.test import Client

    hand_made(firm)
    client = Client()
    client.force_login(firm.manager)
    page = client.get("/admin/dashboard/", {"principal": firm.principal_a.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Samples sent 4, feedback received 1, awaiting feedback now 3." in html
    assert "Sample to win: 1 of 3 organizations sampled (33.3 %)." in html
