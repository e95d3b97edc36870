"""App config."""

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
