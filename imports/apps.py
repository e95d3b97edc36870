"""App config of imports: spreadsheets (CSV, XLSX) of organizations, contacts, products and their links,
validated and upserted by a background job (API under /api/v1/imports/, a page in the admin)."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"
