"""Interactions's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from interactions.views import InteractionViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("interactions", InteractionViewSet, "interaction"),
]
