"""App config of the sales-manager reports (API under /api/v1/reports/, dashboard in the admin)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"
