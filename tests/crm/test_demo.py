"""`load_demo` and `demo_logins`: a realistic demo firm, loaded once, and how to sign in to it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.utils import timezone

from crm import rls
from crm.models import Membership, PrincipalAssignment, Role
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityProduct
from organizations.models import CustomerDistributor, Organization
from products.models import Product
from samples.models import Sample, SampleLine
from workbench.demo import (
    CLOSED_DAYS,
    DEMO_PASSWORD,
    DEMO_TENANT_NAME,
    DEMO_USERS,
    HISTORY_DAYS,
    demo_tenant,
)

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Every table of the project's apps, as the owner (no row level security)."""
    labels = {"crm", "organizations", "contacts", "products", "opportunities", "interactions", "samples"}
    return {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in labels
    }


def test_load_demo_loads_once_and_a_second_run_changes_nothing() -> None:
    first = load_demo()
    counts = row_counts()
    second = load_demo()

    assert "Loaded the demo tenant" in first
    assert "already loaded" in second
    assert row_counts() == counts


def test_demo_has_realistic_volumes_of_every_entity() -> None:
    load_demo()
    tenant = demo_tenant()
    assert tenant is not None and tenant.name == DEMO_TENANT_NAME
    organizations = Organization.objects.filter(tenant=tenant)
    by_type = dict(organizations.values_list("type").annotate(n=Count("id")).values_list("type", "n"))

    assert by_type["principal"] >= 10
    assert by_type["distributor"] >= 6
    assert 50 <= by_type["customer"] + by_type["prospect"] <= 70 and by_type["prospect"] > 0
    assert organizations.filter(parent__isnull=False).exists()
    assert tenant_count("contacts.Contact", tenant) >= 130
    assert tenant_count("products.Product", tenant) >= 50
    assert tenant_count("products.ProductDistributor", tenant) >= 50
    assert tenant_count("organizations.DistributorAuthorization", tenant) >= 24
    assert 50 <= tenant_count("opportunities.Opportunity", tenant) <= 70
    assert tenant_count("opportunities.OpportunityProduct", tenant) >= 60
    assert tenant_count("opportunities.OpportunityContact", tenant) >= 60
    assert 200 <= tenant_count("interactions.Interaction", tenant) <= 300


def tenant_count(label: str, tenant: object) -> int:
    return apps.get_model(label)._default_manager.filter(tenant=tenant).count()


def test_demo_members_have_their_roles_and_books() -> None:
    load_demo()
    members = {
        m.user.email: m for m in Membership.objects.select_related("user").filter(tenant=demo_tenant())
    }

    assert set(members) == {u.email for u in DEMO_USERS}
    roles = [m.role for m in members.values()]
    assert roles.count(Role.ADMIN) == 1 and roles.count(Role.MANAGER) == 3 and roles.count(Role.VIEWER) == 1
    for member in members.values():
        book = PrincipalAssignment.objects.filter(user=member.user).count()
        if member.role == Role.MANAGER:
            assert 3 <= book <= 4, member.user.email
        elif member.role == Role.VIEWER:
            assert 1 <= book <= 2
        assert authenticate(username=member.user.email, password=DEMO_PASSWORD) is not None


def test_demo_pipeline_covers_every_stage_and_closed_deals_are_dated_and_explained() -> None:
    load_demo()
    opportunities = Opportunity.objects.filter(tenant=demo_tenant())

    assert set(opportunities.values_list("stage", flat=True)) == {
        "new_lead",
        "initial_outreach",
        "sample_visit_offered",
        "feedback_logged",
        "demo_scheduled",
        "closed_won",
        "closed_lost",
    }
    assert not opportunities.filter(stage__in=["closed_won", "closed_lost"], closed_on__isnull=True).exists()
    assert not opportunities.filter(stage="closed_won", win_reason="").exists()
    assert not opportunities.filter(stage="closed_lost", loss_reason="").exists()
    assert not opportunities.filter(opportunity_products__isnull=True).exists()
    mismatched = OpportunityProduct.objects.exclude(product__principal=F("opportunity__principal"))
    assert not mismatched.exists()


def test_demo_accounts_have_one_primary_distributor_and_products_have_skus_and_prices() -> None:
    load_demo()
    tenant = demo_tenant()
    accounts = Organization.objects.filter(tenant=tenant, type__in=["customer", "prospect"])
    primaries = accounts.annotate(
        n=Count("distributors", filter=Q(distributors__is_primary=True))
    ).values_list("n", flat=True)

    assert set(primaries) == {1}
    assert CustomerDistributor.objects.filter(tenant=tenant, is_primary=False).exists()
    products = Product.objects.filter(tenant=tenant)
    assert not products.filter(Q(sku="") | Q(pack_size="") | Q(list_price__isnull=True)).exists()
    assert products.values("category").distinct().count() >= 8


def test_demo_interactions_span_about_six_months_with_due_and_overdue_follow_ups() -> None:
    load_demo()
    interactions = Interaction.objects.filter(tenant=demo_tenant())
    today = timezone.localdate()
    now = timezone.now()

    # Touches of a deal closed up to CLOSED_DAYS ago may be as old as the close.
    assert not interactions.filter(occurred_at__lt=now - dt.timedelta(days=CLOSED_DAYS + 1)).exists()
    assert not interactions.filter(occurred_at__gt=now).exists()
    assert interactions.filter(occurred_at__lt=now - dt.timedelta(days=120)).exists()
    weeks = {(now - at).days // 7 for at in interactions.values_list("occurred_at", flat=True)}
    assert set(range(HISTORY_DAYS // 7)) <= weeks, "every week of the last six months has activity"
    assert interactions.filter(follow_up_on__lt=today, follow_up_done=False).exists()
    assert interactions.filter(follow_up_on__gte=today, follow_up_done=False).exists()
    assert interactions.filter(opportunity__isnull=False).exists()
    assert interactions.filter(principal__isnull=True).exists()  # shared account upkeep
    assert not interactions.filter(Q(created_by__isnull=True) | Q(user__isnull=True)).exists()


def test_demo_stages_have_realistic_ages_and_closed_deals_span_past_quarters() -> None:
    load_demo()
    opportunities = Opportunity.objects.filter(tenant=demo_tenant())
    now = timezone.now()
    open_ = opportunities.exclude(stage__in=["closed_won", "closed_lost"])
    ages = [(now - at).days for at in open_.values_list("stage_changed_at", flat=True) if at]

    assert min(ages) < 7 and max(ages) > 60, ages
    assert sum(age > 21 for age in ages) >= 5, "the stale deals report has deals to show"
    assert not opportunities.filter(created_at__gt=F("stage_changed_at")).exists()
    for stage_changed_at, closed_on in opportunities.filter(closed_on__isnull=False).values_list(
        "stage_changed_at", "closed_on"
    ):
        assert stage_changed_at.date() == closed_on
    quarters = {
        ((d.year, (d.month - 1) // 3)) for d in opportunities.values_list("closed_on", flat=True) if d
    }
    assert len(quarters) >= 3


def test_demo_probabilities_are_the_firms_figures_and_every_deal_has_an_owner() -> None:
    load_demo()
    tenant = demo_tenant()
    figures = {"new_lead": 10, "initial_outreach": 20, "sample_visit_offered": 40, "feedback_logged": 50}
    figures |= {"demo_scheduled": 70, "closed_won": 100, "closed_lost": 0}
    for stage, probability in Opportunity.objects.filter(tenant=tenant).values_list("stage", "probability"):
        assert probability == figures[stage], stage
    assert not Opportunity.objects.filter(tenant=tenant, owner__isnull=True).exists()


def test_demo_samples_are_at_every_status_over_the_past_months_with_lines_of_their_principal() -> None:
    load_demo()
    tenant = demo_tenant()
    samples = Sample.objects.filter(tenant=tenant)
    sampled = Interaction.objects.filter(tenant=tenant, type="sample", principal__isnull=False)
    assert samples.count() == sampled.count() >= 10
    statuses = set(samples.values_list("status", flat=True))
    assert len(statuses) >= 4 and {"feedback_received", "delivered"} <= statuses, statuses
    assert statuses & {"requested", "sent"}, statuses  # some still on their way
    assert samples.filter(requested_at__lt=timezone.now() - dt.timedelta(days=30)).exists()
    assert samples.filter(status="feedback_received").exclude(feedback="").exclude(sentiment="").exists()
    assert not samples.filter(sent_at__gt=timezone.now()).exists()
    lines = SampleLine.objects.filter(tenant=tenant)
    assert lines.count() >= samples.count()
    assert not lines.exclude(product__principal_id=F("interaction__principal_id")).exists()


def test_demo_manager_sees_only_the_book_through_row_level_security() -> None:
    load_demo()
    manager = (
        Membership.objects.filter(tenant=demo_tenant(), role=Role.MANAGER).select_related("user").first()
    )
    assert manager is not None
    book = set(PrincipalAssignment.objects.filter(user=manager.user).values_list("principal_id", flat=True))

    with rls.acting_as(manager.user.pk):
        seen = set(Opportunity.objects.values_list("principal_id", flat=True))
    assert seen and seen <= book


def test_demo_logins_lists_urls_each_demo_user_and_a_token_example(monkeypatch: pytest.MonkeyPatch) -> None:
    load_demo()
    monkeypatch.setenv("PORT", "8765")
    out = StringIO()
    call_command("demo_logins", stdout=out)
    output = out.getvalue()

    for user in DEMO_USERS:
        assert user.email in output
    assert "viewer" in output and "manager" in output and DEMO_PASSWORD in output
    for path in ("/admin/", "/api/v1/", "/api/v1/docs/", "/api/v1/auth/token/"):
        assert f"http://127.0.0.1:8765{path}" in output


def test_demo_logins_defaults_to_port_8000_and_says_when_the_demo_is_not_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    out = StringIO()
    call_command("demo_logins", stdout=out)

    assert "http://127.0.0.1:8000/api/v1/" in out.getvalue()
    assert "load_demo" in out.getvalue()


def test_demo_has_a_year_of_sales_and_last_weeks_report_imported_with_rows_to_confirm(api: Any) -> None:
    from imports.models import Import
    from sales.models import ColumnMapping, SalesFact, SalesUnmatched

    load_demo()
    tenant = demo_tenant()
    assert tenant is not None
    facts = SalesFact.objects.filter(tenant=tenant)
    weeks = set(facts.values_list("period_start", flat=True))
    assert len(weeks) == 52 and all(week.weekday() == 0 for week in weeks)
    assert (
        max(weeks)
        < timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
        <= max(weeks) + dt.timedelta(days=7)
    )
    assert facts.count() >= 2000
    assert facts.values("principal").distinct().count() >= 10
    # Last week's report of one distributor came in through the import job, as the admin.
    imported = Import.objects.get(tenant=tenant, kind="sales")
    assert imported.state == "succeeded" and imported.summary["unmatched"] == 3, imported.summary
    assert facts.filter(source_import_id=imported.pk, period_start=max(weeks)).count() >= 5
    assert ColumnMapping.objects.get(tenant=tenant).mapping["SUPC"] == "item_number"
    kept = SalesUnmatched.objects.filter(tenant=tenant).order_by("source_row")
    assert [row.customer_id is None for row in kept] == [True, True, False]
    misspelt = kept[1]
    assert misspelt.suggestions["customers"][0]["score"] > 0.9  # the account it misspells, first
    # The sell-through report shows a manager their book's figures.
    manager = Membership.objects.filter(tenant=tenant, role=Role.MANAGER).order_by("user__email").first()
    assert manager is not None
    body = api(manager.user).get("/api/v1/reports/sales-velocity/").json()
    assert body["rows"] and Decimal(body["total"]["cases"]) > 0
    points = api(manager.user).get("/api/v1/reports/points-of-distribution/").json()["total"]
    assert points["gained"] > 0 and points["lost"] > 0
    # Some open deals are for products their accounts already buy.
    assert api(manager.user).get("/api/v1/reports/buying-opportunities/").json()["total"] > 0
