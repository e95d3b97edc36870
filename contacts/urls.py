"""Contacts's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from contacts.views import ContactViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("contacts", ContactViewSet, "contact"),
]
