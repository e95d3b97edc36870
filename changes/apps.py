"""App config of the change feed (GET /api/v1/changes/, ADR 0026): every change a caller may see, in order."""

from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "changes"
    verbose_name = "Change feed"
