"""URLs of the reports, included under /api/v1/reports/."""

from django.urls import path

from reports import views

urlpatterns = [
    path("pipeline/", views.PipelineReportView.as_view(), name="report-pipeline"),
    path("weekly-activity/", views.WeeklyActivityReportView.as_view(), name="report-weekly-activity"),
    path("follow-ups/", views.FollowUpsReportView.as_view(), name="report-follow-ups"),
    path("stale-accounts/", views.StaleAccountsReportView.as_view(), name="report-stale-accounts"),
    path(
        "stale-opportunities/",
        views.StaleOpportunitiesReportView.as_view(),
        name="report-stale-opportunities",
    ),
    path("win-loss/", views.WinLossReportView.as_view(), name="report-win-loss"),
    path(
        "distributor-coverage/",
        views.DistributorCoverageReportView.as_view(),
        name="report-distributor-coverage",
    ),
    path(
        "principal-scorecard/",
        views.PrincipalScorecardReportView.as_view(),
        name="report-principal-scorecard",
    ),
    path("sales-velocity/", views.SalesVelocityReportView.as_view(), name="report-sales-velocity"),
    path(
        "points-of-distribution/",
        views.PointsOfDistributionReportView.as_view(),
        name="report-points-of-distribution",
    ),
    path(
        "buying-opportunities/",
        views.BuyingOpportunitiesReportView.as_view(),
        name="report-buying-opportunities",
    ),
]
