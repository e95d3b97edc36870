"""Samples' API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from samples.views import SampleViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("samples", SampleViewSet, "sample"),
]
