"""Opportunities's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from opportunities.views import OpportunityContactViewSet, OpportunityProductViewSet, OpportunityViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("opportunities", OpportunityViewSet, "opportunity"),
    ("opportunity-products", OpportunityProductViewSet, "opportunity-product"),
    ("opportunity-contacts", OpportunityContactViewSet, "opportunity-contact"),
]
