"""App config of the project package."""

from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Tenancy and users"

    def ready(self) -> None:
        from crm.api import schema  # noqa: F401 - registers the OpenAPI authentication extensions
