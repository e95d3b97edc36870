"""Tasks' API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from tasks.views import TaskViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("tasks", TaskViewSet, "task"),
]
