"""Sales-manager reports: one selector per report, each computed by PostgreSQL in the caller's transaction.

One module per report, and `common` for what they share (periods, the book, the SQL plumbing: see its
docstring for how the queries are composed and why they name the book). The names below are the package's
public surface, so callers import `reports.selectors` and need not know which module holds a report.
"""

from reports.selectors.common import (
    INTERACTION_TYPES,
    LIST_LIMIT,
    OPEN_STAGES,
    STAGE_ORDER,
    ZERO,
    ActivityTypeTotal,
    Period,
    book_of,
    change_percent,
    iso_week,
    midnight,
    quarter_label,
    quarter_start,
    quarters_back,
    utc_today,
    week_start,
)
from reports.selectors.distributor_coverage import (
    CoverageReport,
    DistributorCoverage,
    coverage_period,
    coverage_report,
)
from reports.selectors.follow_ups import (
    FollowUpInteraction,
    FollowUpOpportunity,
    FollowUpsReport,
    follow_ups_report,
)
from reports.selectors.pipeline import PipelineLine, PipelineReport, pipeline_report
from reports.selectors.principal_scorecard import (
    TOP_CUSTOMERS,
    ActivityComparison,
    ScorecardReport,
    StageFigures,
    StatusCount,
    TopCustomer,
    scorecard_period,
    scorecard_report,
)
from reports.selectors.principals import PrincipalRef, principal_choices, principal_of
from reports.selectors.stale import (
    StaleAccount,
    StaleAccountsReport,
    StaleOpportunitiesReport,
    StaleOpportunity,
    stale_accounts_query,
    stale_accounts_report,
    stale_opportunities_report,
    stale_window,
)
from reports.selectors.weekly_activity import (
    ActivityWeek,
    PrincipalActivity,
    Week,
    WeeklyActivityReport,
    weekly_activity_period,
    weekly_activity_report,
)
from reports.selectors.win_loss import (
    ReasonCount,
    WinLossLine,
    WinLossReport,
    win_loss_period,
    win_loss_report,
)

__all__ = [
    "INTERACTION_TYPES",
    "LIST_LIMIT",
    "OPEN_STAGES",
    "STAGE_ORDER",
    "TOP_CUSTOMERS",
    "ZERO",
    "ActivityComparison",
    "ActivityTypeTotal",
    "ActivityWeek",
    "CoverageReport",
    "DistributorCoverage",
    "FollowUpInteraction",
    "FollowUpOpportunity",
    "FollowUpsReport",
    "Period",
    "PipelineLine",
    "PipelineReport",
    "PrincipalActivity",
    "PrincipalRef",
    "ReasonCount",
    "ScorecardReport",
    "StageFigures",
    "StaleAccount",
    "StaleAccountsReport",
    "StaleOpportunitiesReport",
    "StaleOpportunity",
    "StatusCount",
    "TopCustomer",
    "Week",
    "WeeklyActivityReport",
    "WinLossLine",
    "WinLossReport",
    "book_of",
    "change_percent",
    "coverage_period",
    "coverage_report",
    "follow_ups_report",
    "iso_week",
    "midnight",
    "pipeline_report",
    "principal_choices",
    "principal_of",
    "quarter_label",
    "quarter_start",
    "quarters_back",
    "scorecard_period",
    "scorecard_report",
    "stale_accounts_query",
    "stale_accounts_report",
    "stale_opportunities_report",
    "stale_window",
    "utc_today",
    "week_start",
    "weekly_activity_period",
    "weekly_activity_report",
    "win_loss_period",
    "win_loss_report",
]
