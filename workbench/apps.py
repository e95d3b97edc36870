"""The tools on top of the CRM: demo data, the data generator, the benchmark and the query analysis."""

from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "workbench"
    verbose_name = "Workbench"
