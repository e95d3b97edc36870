"""The report selectors called as plain Python functions (no HTTP), as each persona under RLS: the period
helpers, the principal look-ups, and what the `book` and `tenant_id` arguments may and may not do.

The reports' figures are worked out through the API in the other modules of this suite; here the data is
each test's own, small enough to count by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from crm import rls
from reports.selectors import (
    Period,
    PrincipalRef,
    book_of,
    change_percent,
    coverage_period,
    coverage_report,
    follow_ups_report,
    iso_week,
    pipeline_report,
    principal_choices,
    principal_of,
    quarter_label,
    quarter_start,
    quarters_back,
    scorecard_period,
    scorecard_report,
    stale_accounts_report,
    stale_opportunities_report,
    stale_window,
    utc_today,
    week_start,
    weekly_activity_period,
    weekly_activity_report,
    win_loss_period,
    win_loss_report,
)
from tests import factories as f
from tests.conftest import Firm
from tests.reports.support import at

D = dt.date


# ---------------------------------------------------------------------------------------------------
# Periods (pure functions).


def test_week_start_is_the_monday_of_the_iso_week() -> None:
    assert week_start(D(2026, 1, 4)) == D(2025, 12, 29)  # a Sunday: its week began the year before
    assert week_start(D(2026, 1, 5)) == D(2026, 1, 5)


def test_iso_week_belongs_to_the_iso_year_not_the_calendar_year() -> None:
    assert iso_week(D(2021, 1, 3)) == "2020-W53"
    assert iso_week(D(2024, 12, 30)) == "2025-W01"
    assert iso_week(D(2026, 3, 2)) == "2026-W10"


def test_quarters_start_on_the_first_of_january_april_july_october_and_count_back_across_years() -> None:
    assert [quarter_start(D(2026, m, 15)) for m in (2, 4, 9, 12)] == [
        D(2026, 1, 1),
        D(2026, 4, 1),
        D(2026, 7, 1),
        D(2026, 10, 1),
    ]
    assert quarters_back(D(2026, 2, 15), 0) == D(2026, 1, 1)
    assert quarters_back(D(2026, 2, 15), 1) == D(2025, 10, 1)
    assert quarters_back(D(2026, 2, 15), 5) == D(2024, 10, 1)
    assert [quarter_label(D(2026, m, 1)) for m in (1, 3, 4, 12)] == [
        "2026-Q1",
        "2026-Q1",
        "2026-Q2",
        "2026-Q4",
    ]


def test_a_period_counts_both_ends_and_its_previous_one_is_as_long_just_before() -> None:
    period = Period(D(2026, 3, 1), D(2026, 3, 31))
    assert period.days == 31
    assert period.previous == Period(D(2026, 1, 29), D(2026, 2, 28))
    assert period.start == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # exclusive
    assert Period(D(2026, 3, 1), D(2026, 3, 1)).days == 1


def test_change_percent_is_none_without_a_previous_figure_and_rounds_to_one_decimal() -> None:
    assert change_percent(5, 0) is None
    assert change_percent(0, 4) == Decimal("-100.0")
    assert change_percent(4, 3) == Decimal("33.3")
    assert change_percent(Decimal("7.5"), Decimal("5")) == Decimal("50.0")


def test_each_reports_default_period_ends_today_and_an_explicit_one_is_kept() -> None:
    today = D(2026, 3, 4)  # a Wednesday
    none: dict[str, Any] = {"today": today, "date_from": None, "date_to": None}
    assert coverage_period(**none) == Period(today, today)
    assert scorecard_period(**none) == Period(D(2026, 2, 5), today)  # 28 days
    assert stale_window(**none, days=30) == Period(D(2026, 2, 3), today)
    assert weekly_activity_period(**none, weeks=2) == Period(D(2026, 2, 23), today)
    assert win_loss_period(**none) == Period(D(2025, 4, 1), today)
    # date_to moves the default's end; date_from and date_to given are the period as asked.
    assert scorecard_period(today=today, date_from=None, date_to=D(2026, 1, 28)) == Period(
        D(2026, 1, 1), D(2026, 1, 28)
    )
    asked = Period(D(2026, 1, 1), D(2026, 1, 10))
    assert win_loss_period(today=today, date_from=asked.date_from, date_to=asked.date_to) == asked
    assert stale_window(today=today, days=30, date_from=asked.date_from, date_to=asked.date_to) == asked


def test_an_admins_book_is_the_whole_firm_and_anyone_elses_their_assignments(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk) as admin:
        assert book_of(admin) is None
    with rls.acting_as(firm.manager.pk) as manager:
        assert book_of(manager) == (firm.principal_a.pk,)
    with rls.acting_as(firm.viewer.pk) as viewer:
        assert book_of(viewer) == (firm.principal_a.pk,)


# ---------------------------------------------------------------------------------------------------
# Principals.


def test_principal_of_finds_a_principal_the_caller_sees_in_one_query(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    with rls.acting_as(firm.manager.pk), django_assert_num_queries(1):
        found = principal_of(tenant_id=firm.tenant.pk, principal_id=firm.principal_a.pk)
    assert found == PrincipalRef(firm.principal_a.pk, firm.principal_a.name)


def test_principal_of_is_none_for_what_is_not_a_principal_the_caller_sees(
    firm: Firm, other_firm: Firm
) -> None:
    gone = f.PrincipalFactory(tenant=firm.tenant, deleted_at=timezone.now())
    t = firm.tenant.pk
    with rls.acting_as(firm.manager.pk):
        assert principal_of(tenant_id=t, principal_id=firm.principal_b.pk) is None  # the other book
        assert principal_of(tenant_id=t, principal_id=firm.customer.pk) is None  # not a principal
    with rls.acting_as(firm.admin.pk):
        assert principal_of(tenant_id=t, principal_id=gone.pk) is None  # soft-deleted
        assert principal_of(tenant_id=t, principal_id=other_firm.principal_a.pk) is None
        # Naming the other firm does not reach its rows: RLS holds the caller to their own.
        assert principal_of(tenant_id=other_firm.tenant.pk, principal_id=other_firm.principal_a.pk) is None


def test_principal_choices_are_the_callers_live_principals_by_name(
    firm: Firm, other_firm: Firm, django_assert_num_queries: Any
) -> None:
    aardvark = f.PrincipalFactory(tenant=firm.tenant, name="Aardvark Foods")
    f.PrincipalFactory(tenant=firm.tenant, name="Abandoned Foods", deleted_at=timezone.now())
    t = firm.tenant.pk
    with rls.acting_as(firm.admin.pk), django_assert_num_queries(1):
        everyone = principal_choices(tenant_id=t)
    assert [p.id for p in everyone] == [aardvark.pk, firm.principal_a.pk, firm.principal_b.pk]
    with rls.acting_as(firm.other_manager.pk):
        assert principal_choices(tenant_id=t) == [PrincipalRef(firm.principal_b.pk, firm.principal_b.name)]
    with rls.acting_as(firm.viewer.pk):
        assert [p.id for p in principal_choices(tenant_id=t)] == [firm.principal_a.pk]
        assert principal_choices(tenant_id=other_firm.tenant.pk) == []


# ---------------------------------------------------------------------------------------------------
# A report as a function: its figures, its one statement, and the limits of its arguments.


@pytest.fixture
def pipeline(firm: Firm) -> None:
    """Open: two of principal A's (10 cases at 50 %, 20 at 100 %), one of B's (8 at 25 %); a closed and a
    deleted one of A's that count nowhere."""
    t, a, b = firm.tenant, firm.principal_a, firm.principal_b
    f.OpportunityFactory(tenant=t, principal=a, weekly_case_volume=10, probability=50)
    f.OpportunityFactory(
        tenant=t, principal=a, weekly_case_volume=20, probability=100, stage="demo_scheduled"
    )
    f.OpportunityFactory(
        tenant=t, principal=b, weekly_case_volume=8, probability=25, owner=firm.other_manager
    )
    f.OpportunityFactory(tenant=t, principal=a, stage="closed_won", win_reason="Chef", weekly_case_volume=99)
    f.OpportunityFactory(tenant=t, principal=a, deleted_at=timezone.now(), weekly_case_volume=99)


def test_the_pipeline_counts_open_deals_per_principal_and_stage_in_one_statement(
    firm: Firm, pipeline: None, django_assert_num_queries: Any
) -> None:
    today = utc_today() + dt.timedelta(days=10)
    with rls.acting_as(firm.admin.pk), django_assert_num_queries(1):
        report = pipeline_report(tenant_id=firm.tenant.pk, today=today)
    a, b = firm.principal_a.pk, firm.principal_b.pk
    assert report.as_of == today
    assert [(r.principal, r.stage, r.open_opportunities, r.weekly_case_volume) for r in report.rows] == [
        (a, "new_lead", 1, 10),
        (a, "demo_scheduled", 1, 20),
        (b, "new_lead", 1, 8),
    ]
    assert [(p.principal, p.open_opportunities, p.weighted_weekly_volume) for p in report.principals] == [
        (a, 2, 25),
        (b, 1, 2),
    ]
    assert (report.total.open_opportunities, report.total.weekly_case_volume) == (3, 38)
    assert report.total.weighted_weekly_volume == 27
    assert report.total.average_days_in_stage == 10  # every stage was set today, counted from `today`


def test_a_reports_book_narrows_it_but_never_widens_what_the_caller_sees(firm: Firm, pipeline: None) -> None:
    today, t = utc_today(), firm.tenant.pk
    a, b = firm.principal_a.pk, firm.principal_b.pk
    with rls.acting_as(firm.admin.pk):
        assert [p.principal for p in pipeline_report(tenant_id=t, today=today, book=[b]).principals] == [b]
    with rls.acting_as(firm.manager.pk):
        # No book given, or the other manager's: still only the manager's own book.
        assert [p.principal for p in pipeline_report(tenant_id=t, today=today).principals] == [a]
        widened = pipeline_report(tenant_id=t, today=today, book=[a, b])
        assert [p.principal for p in widened.principals] == [a]
        assert pipeline_report(tenant_id=t, today=today, book=[b]).total.open_opportunities == 0


def test_a_report_of_another_firm_is_empty(firm: Firm, other_firm: Firm, pipeline: None) -> None:
    f.OpportunityFactory(tenant=other_firm.tenant, principal=other_firm.principal_a)
    with rls.acting_as(firm.admin.pk):
        report = pipeline_report(tenant_id=other_firm.tenant.pk, today=utc_today())
    assert (report.rows, report.principals, report.total.open_opportunities) == ([], [], 0)


def test_a_report_filters_by_principal_and_owner_when_given(firm: Firm, pipeline: None) -> None:
    t, today = firm.tenant.pk, utc_today()
    with rls.acting_as(firm.admin.pk):
        only_a = pipeline_report(tenant_id=t, today=today, principal_id=firm.principal_a.pk)
        owned = pipeline_report(tenant_id=t, today=today, owner_id=firm.other_manager.pk)
    assert only_a.total.open_opportunities == 2
    assert [p.principal for p in owned.principals] == [firm.principal_b.pk]


def test_a_limited_list_stops_at_its_limit_and_its_total_counts_every_row(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    deals = f.OpportunityFactory.create_batch(3, tenant=firm.tenant, principal=firm.principal_a)
    f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_b)
    # Thirty days on, every stage set today is older than the 21-day window.
    later = utc_today() + dt.timedelta(days=30)
    with rls.acting_as(firm.manager.pk), django_assert_num_queries(1):
        report = stale_opportunities_report(tenant_id=firm.tenant.pk, today=later, limit=2)
    assert report.total == 3  # the other book's deal is not counted
    assert [o.id for o in report.opportunities] == [d.pk for d in deals[:2]]  # oldest stage first, then id
    assert report.window == Period(later - dt.timedelta(days=20), later)
    with rls.acting_as(firm.manager.pk):
        assert stale_opportunities_report(tenant_id=firm.tenant.pk, today=utc_today()).total == 0


def test_follow_ups_are_the_users_own_due_undone_ones_and_tasks_oldest_first_in_three_statements(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t, today = firm.tenant, utc_today()
    days = [today - dt.timedelta(days=n) for n in range(4)]
    due = [
        f.InteractionFactory(tenant=t, organization=firm.customer, user=firm.manager, follow_up_on=day)
        for day in (days[1], days[3], days[0])
    ]
    f.InteractionFactory(tenant=t, user=firm.manager, follow_up_on=days[2], follow_up_done=True)
    f.InteractionFactory(tenant=t, user=firm.manager, follow_up_on=today + dt.timedelta(days=1))
    f.InteractionFactory(tenant=t, user=firm.other_manager, follow_up_on=days[2])
    late = f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, owner=firm.manager, next_action="Call", next_action_date=days[2]
    )
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, owner=firm.manager, next_action_date=today)
    f.OpportunityFactory(
        tenant=t,
        principal=firm.principal_a,
        owner=firm.manager,
        next_action_date=days[3],
        stage="closed_lost",
        loss_reason="Price",
    )

    task = f.TaskFactory(tenant=t, assignee=firm.manager, due_on=days[2], organization=firm.customer)
    f.TaskFactory(tenant=t, assignee=firm.manager, due_on=days[3], snoozed_until=today + dt.timedelta(days=1))
    f.TaskFactory(tenant=t, assignee=firm.manager, due_on=days[3], status="done")
    f.TaskFactory(tenant=t, assignee=firm.manager, due_on=today + dt.timedelta(days=1))
    f.TaskFactory(tenant=t, assignee=firm.other_manager, due_on=days[3])
    gone = f.CustomerFactory(tenant=t)
    f.TaskFactory(tenant=t, assignee=firm.manager, due_on=days[3], organization=gone)
    type(gone).objects.filter(pk=gone.pk).update(deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    with rls.acting_as(firm.manager.pk), django_assert_num_queries(3):
        report = follow_ups_report(tenant_id=t.pk, user_id=firm.manager.pk, today=today, limit=2)
    assert [(x.kind, x.id, x.days_overdue, x.organization_name) for x in report.tasks] == [
        ("task", task.pk, 2, "Acme Bistro")
    ]
    assert report.tasks_total == 1 and {i.kind for i in report.interactions} == {"interaction"}
    assert [i.id for i in report.interactions] == [due[1].pk, due[0].pk]
    assert report.interactions_total == 3
    assert [i.days_overdue for i in report.interactions] == [3, 1]
    assert [(o.id, o.days_overdue) for o in report.opportunities] == [(late.pk, 2)]
    assert report.opportunities_total == 1


def test_a_principal_outside_the_book_named_to_a_report_yields_nothing_of_it(firm: Firm) -> None:
    """The view looks the principal up first (principal_of); a caller that skips it and names the other
    book's principal still gets none of its rows."""
    t, b = firm.tenant, firm.principal_b
    f.DistributorAuthorizationFactory(tenant=t, principal=b, distributor=firm.distributor)
    f.OpportunityFactory(tenant=t, principal=b, distributor=firm.distributor)
    f.ProductFactory(tenant=t, principal=b)
    f.InteractionFactory(tenant=t, organization=b, principal=b)
    named = PrincipalRef(b.pk, b.name)

    with rls.acting_as(firm.other_manager.pk):
        theirs = coverage_report(tenant_id=t.pk, principal=named, today=utc_today())
        their_card = scorecard_report(tenant_id=t.pk, principal=named, today=utc_today())
    assert [d.distributor for d in theirs.distributors] == [firm.distributor.pk]
    assert (their_card.products_total, their_card.open_opportunities, their_card.activity.interactions) == (
        1,
        1,
        1,
    )

    with rls.acting_as(firm.manager.pk):
        coverage = coverage_report(tenant_id=t.pk, principal=named, today=utc_today())
        card = scorecard_report(tenant_id=t.pk, principal=named, today=utc_today())
    assert (coverage.distributors, coverage.open_opportunities) == ([], 0)
    assert (card.products_total, card.open_opportunities, card.activity.interactions, card.top_customers) == (
        0,
        0,
        0,
        [],
    )


def test_coverage_counts_authorizations_in_force_during_the_period_in_one_statement(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t, a = firm.tenant, firm.principal_a
    today = utc_today()
    in_force = f.DistributorAuthorizationFactory(tenant=t, principal=a, distributor=firm.distributor)
    expired = f.DistributorAuthorizationFactory(
        tenant=t, principal=a, authorized_on=D(2025, 1, 1), expires_on=today - dt.timedelta(days=1)
    )
    f.CustomerDistributorFactory(
        tenant=t, customer=firm.customer, distributor=firm.distributor, is_primary=True
    )
    f.OpportunityFactory(tenant=t, principal=a, customer=firm.customer, distributor=firm.distributor)
    f.OpportunityFactory(tenant=t, principal=a, customer=firm.customer)  # no distributor yet
    principal = PrincipalRef(a.pk, a.name)

    with rls.acting_as(firm.manager.pk), django_assert_num_queries(1):
        report = coverage_report(tenant_id=t.pk, principal=principal, today=today)
    (line,) = report.distributors
    assert (line.distributor, line.customers_served, line.primary_customers, line.open_opportunities) == (
        in_force.distributor_id,
        1,
        1,
        1,
    )
    assert (report.customers_reached, report.open_opportunities) == (1, 2)
    assert report.open_opportunities_without_authorized_distributor == 1
    with rls.acting_as(firm.manager.pk):
        back_then = coverage_report(
            tenant_id=t.pk, principal=principal, today=today, date_from=today - dt.timedelta(days=3)
        )
    assert {d.distributor for d in back_then.distributors} == {
        in_force.distributor_id,
        expired.distributor_id,
    }


def test_win_loss_counts_the_callers_closed_deals_and_their_reasons_in_two_statements(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t, today = firm.tenant, utc_today()
    for reason in ("Chef loved it", "Chef loved it"):
        f.OpportunityFactory(tenant=t, principal=firm.principal_a, stage="closed_won", win_reason=reason)
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, stage="closed_lost", loss_reason="Price")
    f.OpportunityFactory(tenant=t, principal=firm.principal_b, stage="closed_won", win_reason="Menu fit")
    f.OpportunityFactory(tenant=t, principal=firm.principal_a)  # open: not counted

    with rls.acting_as(firm.manager.pk), django_assert_num_queries(2):
        report = win_loss_report(tenant_id=t.pk, today=today)
    assert [(p.principal, p.won, p.lost, p.win_rate) for p in report.principals] == [
        (firm.principal_a.pk, 2, 1, Decimal("66.7"))
    ]
    assert [r.quarter for r in report.rows] == [quarter_label(today)]
    assert [(r.reason, r.opportunities) for r in report.total.win_reasons] == [("Chef loved it", 2)]
    assert (report.total.won, report.total.lost) == (2, 1)


def test_an_account_is_stale_for_a_manager_when_only_the_other_books_interactions_touched_it(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t, a, b, today = firm.tenant, firm.principal_a, firm.principal_b, utc_today()
    fresh, hidden_touch, long_ago, not_mine = (f.CustomerFactory(tenant=t, name=n) for n in "FHLN")
    for customer in (fresh, hidden_touch, long_ago):
        f.OpportunityFactory(tenant=t, principal=a, customer=customer)
    theirs = f.OpportunityFactory(tenant=t, principal=b, customer=hidden_touch)
    f.OpportunityFactory(tenant=t, principal=b, customer=not_mine)
    f.InteractionFactory(tenant=t, organization=fresh, occurred_at=at(today - dt.timedelta(days=5)))
    f.InteractionFactory(
        tenant=t, organization=hidden_touch, opportunity=theirs, occurred_at=at(today - dt.timedelta(days=5))
    )
    f.InteractionFactory(tenant=t, organization=long_ago, occurred_at=at(today - dt.timedelta(days=40)))

    with rls.acting_as(firm.manager.pk), django_assert_num_queries(1):
        report = stale_accounts_report(tenant_id=t.pk, today=today)
    # Never touched (as far as this manager can see) first, then the longest untouched.
    assert [(s.customer, s.days_since_interaction) for s in report.accounts] == [
        (hidden_touch.pk, None),
        (long_ago.pk, 40),
    ]
    assert report.accounts[0].principals == [a.name]  # the other book's principal is not named
    assert report.total == 2
    with rls.acting_as(firm.admin.pk):
        everyone = stale_accounts_report(tenant_id=t.pk, today=today)
    assert [s.customer for s in everyone.accounts] == [not_mine.pk, long_ago.pk]


def test_weekly_activity_counts_the_books_interactions_per_week_against_the_period_before(
    firm: Firm, django_assert_num_queries: Any
) -> None:
    t, a, b = firm.tenant, firm.principal_a, firm.principal_b
    for day, kind, principal in (
        (D(2026, 3, 3), "call", a),  # W10
        (D(2026, 3, 10), "email", a),  # W11
        (D(2026, 3, 11), "call", b),
        (D(2026, 2, 20), "call", a),  # the two weeks before
    ):
        f.InteractionFactory(
            tenant=t, organization=principal, principal=principal, type=kind, occurred_at=at(day)
        )
    f.InteractionFactory(
        tenant=t, organization=firm.customer, occurred_at=at(D(2026, 3, 4))
    )  # shared: no principal

    with rls.acting_as(firm.manager.pk), django_assert_num_queries(1):
        report = weekly_activity_report(
            tenant_id=t.pk, today=D(2026, 3, 15), date_from=D(2026, 3, 2), date_to=D(2026, 3, 15)
        )
    assert report.previous_period == Period(D(2026, 2, 16), D(2026, 3, 1))
    assert [w.week for w in report.weeks] == ["2026-W10", "2026-W11"]
    (mine,) = report.principals
    assert mine.principal == a.pk
    assert [(w.week, w.interactions) for w in mine.weeks] == [("2026-W10", 1), ("2026-W11", 1)]
    assert (mine.interactions, mine.previous_interactions, mine.change, mine.change_percent) == (
        2,
        1,
        1,
        Decimal("100.0"),
    )
    assert [(x.type, x.interactions, x.previous_interactions) for x in mine.by_type] == [
        ("call", 1, 1),
        ("email", 1, 0),
    ]
    assert report.total.interactions == 2
