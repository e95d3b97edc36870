"""Query parameters and response shapes of the reports (what the OpenAPI schema and its clients see)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from crm.api.fast import FlatRowSerializer
from interactions.models import InteractionType
from opportunities.models import OpportunityStatus, Stage
from organizations.models import OrganizationType, Priority
from products.models import ProductStatus
from reports.selectors import utc_today
from reports.selectors.sales import ROWS_LIMIT, ROWS_LIMIT_MAX
from sales.models import PeriodKind
from tasks.models import TaskPriority
from tasks.serializers import LocalTimeField

# A report's period may span at most this many days (two years and a day): enough for any comparison a
# manager makes, small enough that a typo (2206 for 2026) is a 400 rather than a slow query.
MAX_PERIOD_DAYS = 732
# Ids are bigints; a larger number is a 400 rather than an overflow in the database.
MAX_ID = 2**63 - 1
# Dates a report can be about (the arithmetic on them stays far from date.min and date.max).
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def id_field(help_text: str, *, required: bool = False) -> serializers.IntegerField:
    return serializers.IntegerField(required=required, min_value=1, max_value=MAX_ID, help_text=help_text)


class ReportDateField(serializers.DateField):
    """An ISO date (YYYY-MM-DD) from 1900 to 2999."""

    def to_internal_value(self, value: Any) -> dt.date:
        day: dt.date = super().to_internal_value(value)
        if not EARLIEST <= day <= LATEST:
            raise serializers.ValidationError(f"Must be from {EARLIEST} to {LATEST}.")
        return day


# ---------------------------------------------------------------------------------------------------
# Query parameters.


class ReportParamsSerializer(serializers.Serializer):
    """What every report is filtered by. A principal or owner outside the user's reach matches nothing.

    `period_limited`: date_from–date_to is the report's period (ending today when date_to is not given),
    so it must not end before it starts nor span more than MAX_PERIOD_DAYS. Otherwise the dates only
    filter rows (created on, due on) and any range is fine.
    """

    period_limited = True

    principal = id_field("Only this principal (an organization id).")
    owner = id_field("Only this user's rows: opportunities they own, interactions they logged (a user id).")
    date_from = ReportDateField(required=False, help_text="First day of the period (YYYY-MM-DD).")
    date_to = ReportDateField(required=False, help_text="Last day of the period (YYYY-MM-DD).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_from: dt.date | None = attrs.get("date_from")
        date_to: dt.date | None = attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"date_from": ["Must not be after date_to."]})
        if self.period_limited and date_from:
            end = date_to or utc_today()
            if date_from > end:
                raise serializers.ValidationError({"date_from": ["Must not be after today (or date_to)."]})
            if (end - date_from).days >= MAX_PERIOD_DAYS:
                raise serializers.ValidationError(
                    {"date_from": [f"The period may span at most {MAX_PERIOD_DAYS} days."]}
                )
        return attrs


class ListParamsSerializer(ReportParamsSerializer):
    """Reports that list rows (oldest or stalest first) return at most `limit` of them, and the total."""

    limit = serializers.IntegerField(
        required=False,
        default=100,
        min_value=1,
        max_value=5000,
        help_text="At most this many rows (default 100).",
    )


def _exclusive(attrs: dict[str, Any], name: str, initial: Any) -> None:
    """`name` (weeks, days) and date_from both set the period's start: only one may be given."""
    if name in initial and "date_from" in attrs:
        raise serializers.ValidationError({name: [f"Give {name} or date_from, not both."]})


class PipelineParamsSerializer(ReportParamsSerializer):
    period_limited = False
    date_from = ReportDateField(required=False, help_text="Only opportunities created on or after this day.")
    date_to = ReportDateField(required=False, help_text="Only opportunities created on or before this day.")


class WeeklyActivityParamsSerializer(ReportParamsSerializer):
    weeks = serializers.IntegerField(
        required=False,
        default=8,
        min_value=1,
        max_value=104,
        help_text="ISO weeks up to date_to (default 8), the last one counted to date_to.",
    )
    date_from = ReportDateField(required=False, help_text="Start of the period, instead of weeks.")
    date_to = ReportDateField(required=False, help_text="Last day of the period (default today).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _exclusive(attrs, "weeks", self.initial_data)
        return super().validate(attrs)


class FollowUpsParamsSerializer(ListParamsSerializer):
    period_limited = False
    owner = id_field("Whose follow-ups (a user id); yours by default.")
    date_from = ReportDateField(required=False, help_text="Only follow-ups due on or after this day.")
    date_to = ReportDateField(
        required=False,
        help_text="The day the report is for (default today): follow-ups due on or before it, next actions"
        " dated before it.",
    )


class StaleParamsSerializer(ListParamsSerializer):
    default_days = 30
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PERIOD_DAYS)
    date_from = ReportDateField(
        required=False, help_text="Start of the window a row must have been touched in, instead of days."
    )
    date_to = ReportDateField(required=False, help_text="Last day of the window (default today).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _exclusive(attrs, "days", self.initial_data)
        attrs.setdefault("days", self.default_days)
        return super().validate(attrs)


class StaleAccountsParamsSerializer(StaleParamsSerializer):
    default_days = 30
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PERIOD_DAYS,
        help_text="Stale when no interaction in this many days up to date_to (default 30).",
    )


class StaleOpportunitiesParamsSerializer(StaleParamsSerializer):
    default_days = 21
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PERIOD_DAYS,
        help_text="Stale when the stage has not changed in this many days up to date_to (default 21).",
    )


class WinLossParamsSerializer(ReportParamsSerializer):
    date_from = ReportDateField(
        required=False, help_text="Closed on or after this day (default: the start of the quarter 3 back)."
    )
    date_to = ReportDateField(required=False, help_text="Closed on or before this day (default today).")


class CoverageParamsSerializer(ReportParamsSerializer):
    principal = id_field("The principal (an organization id).", required=True)
    date_from = ReportDateField(
        required=False, help_text="Authorizations in force at any time from this day (default: date_to)."
    )
    date_to = ReportDateField(required=False, help_text="… to this day (default today).")


class ScorecardParamsSerializer(ReportParamsSerializer):
    principal = id_field("The principal (an organization id).", required=True)
    date_from = ReportDateField(
        required=False, help_text="Start of the activity period (default: 4 weeks before date_to)."
    )
    date_to = ReportDateField(required=False, help_text="Last day of the activity period (default today).")


# ---------------------------------------------------------------------------------------------------
# Responses. Decimals are strings, as everywhere in the API.


def _volume(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _tenths(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True, **kwargs)


class ReportSerializer(serializers.Serializer):
    """A report: its days are counted in `time_zone` (the view's serializer context)."""

    def get_time_zone(self, report: Any) -> str:
        return str(self.context.get("time_zone", "UTC"))


def time_zone_field() -> serializers.SerializerMethodField:
    return serializers.SerializerMethodField(
        help_text="The IANA time zone the report's days and weeks are counted in: the firm's (yours for your"
        " follow-ups)."
    )


class ReportPeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class PrincipalFields(serializers.Serializer):
    """Which principal a line is about (fields listed first in every line that has them)."""

    principal = serializers.IntegerField()
    principal_name = serializers.CharField()


class StageField(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)


class PipelineFiguresSerializer(serializers.Serializer):
    open_opportunities = serializers.IntegerField()
    weekly_case_volume = _volume()
    weighted_weekly_volume = _volume(help_text="Weekly case volume × probability.")
    average_days_in_stage = _tenths(help_text="Average days since the opportunities entered their stage.")


class PipelinePrincipalSerializer(PrincipalFields, PipelineFiguresSerializer):
    pass


class PipelineRowSerializer(PrincipalFields, StageField, PipelineFiguresSerializer):
    pass


class PipelineReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    rows = PipelineRowSerializer(
        many=True, help_text="Per principal × stage (stages with open opportunities)."
    )
    principals = PipelinePrincipalSerializer(many=True, help_text="Per principal, all open stages.")
    total = PipelineFiguresSerializer(help_text="All principals.")


class ReportWeekSerializer(serializers.Serializer):
    week = serializers.CharField(help_text="ISO week, e.g. 2026-W47.")
    week_start = serializers.DateField(help_text="Its Monday.")


class ActivityWeekSerializer(ReportWeekSerializer):
    interactions = serializers.IntegerField()
    by_type = serializers.DictField(child=serializers.IntegerField(), help_text="Interactions per type.")


class ActivityTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=InteractionType.choices)
    interactions = serializers.IntegerField()
    previous_interactions = serializers.IntegerField()
    change = serializers.IntegerField()


class ActivityTotalsSerializer(serializers.Serializer):
    weeks = ActivityWeekSerializer(many=True)
    by_type = ActivityTypeSerializer(many=True)
    interactions = serializers.IntegerField()
    previous_interactions = serializers.IntegerField(help_text="In the previous period of the same length.")
    change = serializers.IntegerField()
    change_percent = _tenths(help_text="Change in percent; null when there were none before.")


class PrincipalActivitySerializer(PrincipalFields, ActivityTotalsSerializer):
    pass


class WeeklyActivityReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    period = ReportPeriodSerializer()
    previous_period = ReportPeriodSerializer()
    weeks = ReportWeekSerializer(many=True)
    principals = PrincipalActivitySerializer(many=True)
    total = ActivityTotalsSerializer()


class FollowUpInteractionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("interaction", "Interaction")])
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=InteractionType.choices)
    subject = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    follow_up_on = serializers.DateField()
    days_overdue = serializers.IntegerField(help_text="0 when due on the report's day.")
    organization = serializers.IntegerField()
    organization_name = serializers.CharField()
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField(allow_null=True)
    principal = serializers.IntegerField(allow_null=True)
    principal_name = serializers.CharField(allow_null=True)


class FollowUpTaskSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("task", "Task")])
    id = serializers.IntegerField()
    title = serializers.CharField()
    priority = serializers.ChoiceField(choices=TaskPriority.choices)
    due_on = serializers.DateField()
    due_time = LocalTimeField(allow_null=True)
    days_overdue = serializers.IntegerField(help_text="0 when due on the report's day.")
    organization = serializers.IntegerField(allow_null=True)
    organization_name = serializers.CharField(allow_null=True)
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField(allow_null=True)
    principal = serializers.IntegerField(allow_null=True)
    principal_name = serializers.CharField(allow_null=True)


class FollowUpOpportunitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("opportunity", "Opportunity")])
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    status = serializers.ChoiceField(choices=OpportunityStatus.choices)
    next_action = serializers.CharField(allow_blank=True)
    next_action_date = serializers.DateField()
    days_overdue = serializers.IntegerField()
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    principal = serializers.IntegerField()
    principal_name = serializers.CharField()
    weekly_case_volume = _volume()


class FollowUpsReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    user = serializers.IntegerField(help_text="Whose follow-ups these are.")
    interactions = FollowUpInteractionSerializer(many=True, help_text="Follow-ups due, oldest first.")
    interactions_total = serializers.IntegerField(help_text="All follow-ups due (the list stops at limit).")
    tasks = FollowUpTaskSerializer(
        many=True, help_text="Your open tasks due (not snoozed past the day), oldest first."
    )
    tasks_total = serializers.IntegerField(help_text="All tasks due (the list stops at limit).")
    opportunities = FollowUpOpportunitySerializer(many=True, help_text="Next actions passed, oldest first.")
    opportunities_total = serializers.IntegerField(help_text="All next actions passed.")


class StaleAccountSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    type = serializers.ChoiceField(choices=OrganizationType.choices, help_text="customer or prospect")
    priority = serializers.ChoiceField(choices=Priority.choices)
    account_manager = serializers.IntegerField(allow_null=True)
    principals = serializers.ListField(
        child=serializers.CharField(), help_text="Principals with deals there."
    )
    opportunities = serializers.IntegerField()
    open_opportunities = serializers.IntegerField()
    last_interaction_at = serializers.DateTimeField(allow_null=True, help_text="Null: never touched.")
    days_since_interaction = serializers.IntegerField(allow_null=True)


class StaleAccountsReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    window = ReportPeriodSerializer(help_text="No interaction in these days.")
    accounts = StaleAccountSerializer(many=True, help_text="Never touched first, then longest untouched.")
    total = serializers.IntegerField(help_text="All stale accounts (the list stops at limit).")


class StaleOpportunitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    status = serializers.ChoiceField(choices=OpportunityStatus.choices)
    principal = serializers.IntegerField()
    principal_name = serializers.CharField()
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    owner = serializers.IntegerField(allow_null=True)
    stage_changed_at = serializers.DateTimeField()
    days_in_stage = serializers.IntegerField()
    weekly_case_volume = _volume()
    weighted_weekly_volume = _volume()
    next_action_date = serializers.DateField(allow_null=True)


class StaleOpportunitiesReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    window = ReportPeriodSerializer(help_text="No stage change in these days.")
    opportunities = StaleOpportunitySerializer(many=True, help_text="Longest in their stage first.")
    total = serializers.IntegerField(help_text="All stale opportunities (the list stops at limit).")


class ReasonCountSerializer(serializers.Serializer):
    reason = serializers.CharField()
    opportunities = serializers.IntegerField()


class WinLossFiguresSerializer(serializers.Serializer):
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = _tenths(help_text="Won in percent of closed; null when none closed.")
    won_weekly_case_volume = _volume()
    lost_weekly_case_volume = _volume()
    win_reasons = ReasonCountSerializer(many=True)
    loss_reasons = ReasonCountSerializer(many=True)


class WinLossPrincipalSerializer(PrincipalFields, WinLossFiguresSerializer):
    pass


class QuarterFields(serializers.Serializer):
    quarter = serializers.CharField(help_text="e.g. 2026-Q3")
    quarter_start = serializers.DateField()


class WinLossRowSerializer(PrincipalFields, QuarterFields, WinLossFiguresSerializer):
    pass


class WinLossReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    period = ReportPeriodSerializer(help_text="Closed in these days.")
    rows = WinLossRowSerializer(many=True, help_text="Per principal × quarter (quarters with closes).")
    principals = WinLossPrincipalSerializer(many=True)
    total = WinLossFiguresSerializer()


class DistributorCoverageSerializer(serializers.Serializer):
    distributor = serializers.IntegerField()
    distributor_name = serializers.CharField()
    authorized_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    customers_served = serializers.IntegerField(help_text="Customers this distributor delivers to.")
    primary_customers = serializers.IntegerField(help_text="… as their primary distributor.")
    open_opportunities = serializers.IntegerField(help_text="The principal's, through this distributor.")
    open_weekly_case_volume = _volume()
    open_weighted_weekly_volume = _volume()


class CoverageReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    principal = serializers.IntegerField()
    principal_name = serializers.CharField()
    period = ReportPeriodSerializer(help_text="Authorizations in force during these days.")
    distributors = DistributorCoverageSerializer(many=True)
    customers_reached = serializers.IntegerField(
        help_text="Distinct customers of the authorized distributors."
    )
    open_opportunities = serializers.IntegerField(help_text="All the principal's open opportunities.")
    open_opportunities_without_authorized_distributor = serializers.IntegerField(
        help_text="Open opportunities with no distributor, or one not authorized in the period."
    )


class StatusCountSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ProductStatus.choices)
    products = serializers.IntegerField()


class StageFiguresSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    opportunities = serializers.IntegerField()
    weekly_case_volume = _volume()
    weighted_weekly_volume = _volume()


class ActivityComparisonSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    previous_period = ReportPeriodSerializer()
    interactions = serializers.IntegerField()
    previous_interactions = serializers.IntegerField()
    change = serializers.IntegerField()
    change_percent = _tenths()
    by_type = ActivityTypeSerializer(many=True)


class TopCustomerSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    won_opportunities = serializers.IntegerField()
    won_weekly_case_volume = _volume()
    open_opportunities = serializers.IntegerField()
    open_weighted_weekly_volume = _volume()
    interactions = serializers.IntegerField(help_text="In the activity period.")


class SampleFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Samples sent in the period.")
    feedback_received = serializers.IntegerField(help_text="Samples whose feedback came in the period.")
    awaiting_feedback = serializers.IntegerField(
        help_text="Samples sent or delivered, no feedback yet (now)."
    )
    organizations_sampled = serializers.IntegerField(
        help_text="Organizations a sample was sent to in the period."
    )
    organizations_won = serializers.IntegerField(
        help_text="Of those, the ones with a closed-won opportunity of the principal closed on or after the day "
        "their first sample of the period was sent (until today)."
    )
    conversion_percent = _tenths(
        help_text="organizations_won / organizations_sampled; null when none was sampled."
    )


class DistributorSalesSerializer(serializers.Serializer):
    distributor = serializers.IntegerField()
    distributor_name = serializers.CharField()
    cases = serializers.DecimalField(max_digits=20, decimal_places=3)
    previous_cases = serializers.DecimalField(max_digits=20, decimal_places=3)
    change = serializers.DecimalField(max_digits=20, decimal_places=3)
    customers = serializers.IntegerField(help_text="Customers buying through it in the period.")


class SellThroughSerializer(serializers.Serializer):
    cases = serializers.DecimalField(
        max_digits=20,
        decimal_places=3,
        help_text="Cases of the weekly sales facts whose whole week lies in the period.",
    )
    previous_cases = serializers.DecimalField(
        max_digits=20, decimal_places=3, help_text="The same, in the period before."
    )
    change = serializers.DecimalField(max_digits=20, decimal_places=3)
    change_percent = _tenths()
    customers = serializers.IntegerField(help_text="Customers buying (net cases above zero) in the period.")
    previous_customers = serializers.IntegerField()
    points = serializers.IntegerField(
        help_text="Points of distribution: product × customer with net cases above zero in the period."
    )
    previous_points = serializers.IntegerField()
    points_gained = serializers.IntegerField(help_text="Buying now, not in the period before.")
    points_lost = serializers.IntegerField(help_text="Buying in the period before, not now.")
    top_distributors = DistributorSalesSerializer(
        many=True, help_text="By cases in the period, at most five."
    )


class ScorecardReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    principal = serializers.IntegerField()
    principal_name = serializers.CharField()
    products = StatusCountSerializer(many=True)
    products_total = serializers.IntegerField()
    pipeline = StageFiguresSerializer(many=True, help_text="Open opportunities by stage.")
    open_opportunities = serializers.IntegerField()
    weekly_case_volume = _volume()
    weighted_weekly_volume = _volume()
    activity = ActivityComparisonSerializer()
    top_customers = TopCustomerSerializer(many=True)
    samples = SampleFiguresSerializer(help_text="Sampling in the period, and sample-to-win conversion.")
    sell_through = SellThroughSerializer(
        help_text="Distributors' weekly sales of the principal's products in the period against the one before."
    )


# ---------------------------------------------------------------------------------------------------
# Distributor sales (the sales app, ADR 0034).


class SalesParamsSerializer(ReportParamsSerializer):
    weeks = serializers.IntegerField(
        required=False,
        default=13,
        min_value=1,
        max_value=104,
        help_text="ISO weeks up to date_to (default 13), compared with as many weeks before; without"
        " date_to, the last whole weeks (the current week is not in: distributors report a week after it ends).",
    )
    period_kind = serializers.ChoiceField(
        choices=PeriodKind.choices,
        default=PeriodKind.WEEK,
        help_text="Facts of weeks (default) or of months.",
    )
    distributor = id_field("Only this distributor's sales (an organization id).")
    product = id_field("Only this product's sales (a product id).")
    date_from = ReportDateField(required=False, help_text="Start of the period, instead of weeks.")
    date_to = ReportDateField(required=False, help_text="Last day of the period (default today).")
    rows_limit = serializers.IntegerField(
        required=False,
        default=ROWS_LIMIT,
        min_value=1,
        max_value=ROWS_LIMIT_MAX,
        help_text=f"At most this many rows listed (default {ROWS_LIMIT}), in name order; `rows_total` says how"
        " many there are, and the totals per principal and overall always cover every row.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _exclusive(attrs, "weeks", self.initial_data)
        return super().validate(attrs)


class DistributionParamsSerializer(SalesParamsSerializer):
    limit = serializers.IntegerField(
        required=False,
        default=100,
        min_value=1,
        max_value=5000,
        help_text="At most this many lost points listed.",
    )


class BuyingOpportunitiesParamsSerializer(ListParamsSerializer):
    period_limited = False
    weeks = serializers.IntegerField(
        required=False,
        default=13,
        min_value=1,
        max_value=104,
        help_text="Buying means cases in these last whole ISO weeks (default 13) or the current one; before"
        " that, stopped.",
    )
    date_from = ReportDateField(
        required=False, help_text="Buying means cases since this day, instead of weeks."
    )
    date_to = None  # type: ignore[assignment]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _exclusive(attrs, "weeks", self.initial_data)
        return super().validate(attrs)


class VelocitySerializer(FlatRowSerializer):
    principal = serializers.IntegerField(allow_null=True)
    principal_name = serializers.CharField(allow_null=True)
    distributor = serializers.IntegerField(allow_null=True)
    distributor_name = serializers.CharField(allow_null=True)
    product = serializers.IntegerField(allow_null=True)
    product_name = serializers.CharField(allow_null=True)
    sku = serializers.CharField(allow_null=True)
    cases = serializers.DecimalField(max_digits=20, decimal_places=3)
    cases_per_week = serializers.DecimalField(max_digits=20, decimal_places=3)
    previous_cases = serializers.DecimalField(max_digits=20, decimal_places=3)
    previous_cases_per_week = serializers.DecimalField(max_digits=20, decimal_places=3)
    change = serializers.DecimalField(max_digits=20, decimal_places=3)
    change_percent = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    customers = serializers.IntegerField(help_text="Customers buying (net cases above zero) in the period.")
    previous_customers = serializers.IntegerField()


class VelocityReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    period = ReportPeriodSerializer()
    previous_period = ReportPeriodSerializer()
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices)
    rows = VelocitySerializer(
        many=True, help_text="Per principal × distributor × product, in name order (at most `rows_limit`)."
    )
    rows_total = serializers.IntegerField(help_text="Rows in all, before `rows_limit`.")
    principals = VelocitySerializer(many=True, help_text="Per principal (distributor and product null).")
    total = VelocitySerializer()


class DistributionSerializer(FlatRowSerializer):
    principal = serializers.IntegerField(allow_null=True)
    principal_name = serializers.CharField(allow_null=True)
    product = serializers.IntegerField(allow_null=True)
    product_name = serializers.CharField(allow_null=True)
    sku = serializers.CharField(allow_null=True)
    points = serializers.IntegerField(help_text="Customers buying the product in the period.")
    previous_points = serializers.IntegerField()
    gained = serializers.IntegerField(help_text="Buying now, not in the previous period.")
    lost = serializers.IntegerField(help_text="Buying in the previous period, not now.")


class LostPointSerializer(FlatRowSerializer):
    principal = serializers.IntegerField()
    product = serializers.IntegerField()
    product_name = serializers.CharField()
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    last_period = serializers.DateField()
    previous_cases = serializers.DecimalField(max_digits=20, decimal_places=3)


class DistributionReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    period = ReportPeriodSerializer()
    previous_period = ReportPeriodSerializer()
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices)
    rows = DistributionSerializer(
        many=True, help_text="Per principal × product, in name order (at most `rows_limit`)."
    )
    rows_total = serializers.IntegerField(help_text="Rows in all, before `rows_limit`.")
    principals = DistributionSerializer(many=True, help_text="Per principal (product null).")
    total = DistributionSerializer()
    lost = LostPointSerializer(
        many=True, help_text="Points lost, biggest previous cases first (up to limit)."
    )
    lost_total = serializers.IntegerField()


class BuyingOpportunitySerializer(FlatRowSerializer):
    opportunity = serializers.IntegerField()
    opportunity_name = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    principal = serializers.IntegerField()
    principal_name = serializers.CharField()
    customer = serializers.IntegerField()
    customer_name = serializers.CharField()
    product = serializers.IntegerField()
    product_name = serializers.CharField()
    status = serializers.ChoiceField(choices=[("buying", "buying"), ("stopped", "stopped")])
    last_period = serializers.DateField()
    recent_cases = serializers.DecimalField(max_digits=20, decimal_places=3)
    total_cases = serializers.DecimalField(max_digits=20, decimal_places=3)


class BuyingOpportunitiesReportSerializer(ReportSerializer):
    as_of = serializers.DateField()
    time_zone = time_zone_field()
    recent_from = serializers.DateField(
        help_text="Buying means cases in periods starting on or after this day."
    )
    opportunities = BuyingOpportunitySerializer(many=True)
    total = serializers.IntegerField()
