"""App config of webhooks (endpoints, deliveries, their worker; ADR 0027)."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
