"""The sales dashboard in the admin: the reports of the signed-in member's book, as tables and SVG charts.

The same selectors as the API, in the same request transaction, so row level security decides what the
page covers exactly as it does for /api/v1/reports/.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from crm import timezones
from crm.rls import context_of
from opportunities.models import Stage
from reports import selectors
from reports.charts import bar_chart, column_chart

# Long lists are cut on the page (the API and its CSV have them all).
SHOWN_ROWS = 15


def _chosen_principal(
    request: HttpRequest, choices: list[selectors.PrincipalRef]
) -> selectors.PrincipalRef | None:
    wanted = request.GET.get("principal", "")
    return next((p for p in choices if str(p.id) == wanted), choices[0] if choices else None)


def dashboard(request: HttpRequest) -> HttpResponse:
    """Pipeline, weekly activity, follow-ups, stale accounts and deals, win/loss, sell-through per
    principal, and one principal's scorecard (with its sell-through) and distributor coverage (`?principal=`, the first of the book by default)."""
    crm = context_of(request)
    tenant_id, book = crm.member_tenant_id, selectors.book_of(crm)
    # The firm's days (its time zone) for the reports; the member's own for their follow-ups (ADR 0028).
    zones = timezones.zones_of(tenant_id=tenant_id, user_id=crm.member_user_id)
    today, zone = zones.firm_today(), zones.firm
    choices = list(selectors.principal_choices(tenant_id=tenant_id))
    chosen = _chosen_principal(request, choices)

    pipeline = selectors.pipeline_report(tenant_id=tenant_id, today=today, book=book, zone=zone)
    activity = selectors.weekly_activity_report(tenant_id=tenant_id, today=today, book=book, zone=zone)
    follow_ups = selectors.follow_ups_report(
        tenant_id=tenant_id, user_id=crm.member_user_id, today=zones.member_today(), limit=SHOWN_ROWS
    )
    stale_accounts = selectors.stale_accounts_report(
        tenant_id=tenant_id, today=today, book=book, limit=SHOWN_ROWS, zone=zone
    )
    stale_opportunities = selectors.stale_opportunities_report(
        tenant_id=tenant_id, today=today, book=book, limit=SHOWN_ROWS, zone=zone
    )
    win_loss = selectors.win_loss_report(tenant_id=tenant_id, today=today, book=book, zone=zone)
    # Sell-through per principal over the last 13 ISO weeks (distributors' weekly sales, ADR 0034).
    velocity = selectors.velocity_report(tenant_id=tenant_id, today=today, book=book, rows_limit=0)
    scorecard = coverage = None
    if chosen is not None:
        scorecard = selectors.scorecard_report(tenant_id=tenant_id, principal=chosen, today=today, zone=zone)
        coverage = selectors.coverage_report(tenant_id=tenant_id, principal=chosen, today=today, zone=zone)

    stage_names = dict(Stage.choices)
    charts: dict[str, Any] = {
        "pipeline": bar_chart(
            [
                (p.principal_name or "", [p.weekly_case_volume, p.weighted_weekly_volume])
                for p in pipeline.principals
            ],
            series=("Weekly case volume", "Weighted"),
            title="Open pipeline per principal",
        ),
        "activity": column_chart(
            [(week.week.split("-")[1], week.interactions) for week in activity.total.weeks],
            title="Interactions per ISO week",
        ),
        "win_loss": bar_chart(
            [(p.principal_name or "", [p.won, p.lost]) for p in win_loss.principals],
            series=("Won", "Lost"),
            title="Closed won and lost per principal",
        ),
    }
    if scorecard is not None:
        charts["scorecard_pipeline"] = bar_chart(
            [(stage_names[s.stage], [s.weighted_weekly_volume]) for s in scorecard.pipeline],
            title="Weighted weekly volume by stage",
        )
        charts["scorecard_activity"] = bar_chart(
            [
                ("Last period", [scorecard.activity.interactions]),
                ("Period before", [scorecard.activity.previous_interactions]),
            ],
            title="Interactions, period against the one before",
        )

    api = reverse("report-pipeline").removesuffix("pipeline/")
    site = admin.site
    return TemplateResponse(
        request,
        "reports/dashboard.html",
        {
            **site.each_context(request),
            "title": "Sales dashboard",
            "today": today,
            "time_zone": zone.key,
            "choices": choices,
            "chosen": chosen,
            "pipeline": pipeline,
            "activity": activity,
            "follow_ups": follow_ups,
            "stale_accounts": stale_accounts,
            "stale_opportunities": stale_opportunities,
            "win_loss": win_loss,
            "velocity": velocity,
            "scorecard": scorecard,
            "coverage": coverage,
            "charts": charts,
            "api": api,
        },
    )
